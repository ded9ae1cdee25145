"""Smoke test of the browser harness: the API documentation page (/api/docs) loads, renders
the operations from /api/openapi.json, filters them, and asks for nothing outside this
machine."""

from harness import base_url, fail, launch, shot

with launch(locale="en-US") as b:
    page = b.page
    response = page.goto(base_url() + "/api/docs")
    if response is None or response.status != 200:
        fail("GET /api/docs: %s" % (response.status if response else "no response"))
    # the page renders the operations from /api/openapi.json with its own script
    page.wait_for_selector("details[data-search]")
    operations = page.locator("details[data-search]").count()
    if operations < 10:
        fail("only %d operations rendered" % operations)
    title = page.title()
    if title != "Signet API":
        fail("title %r, expected 'Signet API'" % title)
    heading = page.locator("h1#title").inner_text()
    if not heading.startswith("Signet API "):
        fail("heading %r" % heading)
    # the page is ~30,000 px long: the viewport is what a person checks
    shot(page, "api-docs", full_page=False)

    # the filter hides what does not match
    page.fill("#filter", "verify")
    visible = page.locator("details[data-search]:not([hidden])").count()
    if not 0 < visible < operations:
        fail("the filter 'verify' left %d of %d operations" % (visible, operations))
    page.locator("details[data-search]:not([hidden])").first.locator("summary").click()
    shot(page, "api-docs-filtered", full_page=False)
    print("smoke: %d operations, %d after the filter" % (operations, visible))

print("smoke: ok")
