/*
 * Signet embedded signing: the helper for the page that embeds the signing view.
 *
 * A classic script with no dependencies: load it from your Signet server and open the URL your
 * server got from POST /api/v1/envelopes/{id}/parties/{party}/embed:
 *
 *   <div id="signing"></div>
 *   <script src="https://signet.example.com/assets/embed.js"></script>
 *   <script>
 *     const view = SignetEmbed.open({
 *       url: embedUrl,                       // from your server, never built in the browser
 *       container: "#signing",
 *       onEvent: (e) => console.log(e.type, e),
 *     });
 *     view.on("completed", () => view.close());
 *   </script>
 *
 * Events (each an object {source: "signet", type, envelope_id, party_id, ...}):
 *   loaded     the view shows the document (or the party's final state)
 *   signed     the party signed (status, envelope_status)
 *   declined   the party declined (reason)
 *   completed  the envelope is complete (every party signed)
 *   error      something failed (status, code, message); code "not_loaded" when the view did
 *              not load within `timeout` ms (for example: this page's origin is not one the
 *              tenant allows, so the browser refused to show the view)
 *
 * Only messages from the view's own window and origin are taken; anything else is ignored.
 */
(function (global) {
  "use strict";

  function element(container) {
    if (typeof container === "string") return document.querySelector(container);
    return container || document.body;
  }

  function open(options) {
    if (!options || !options.url) throw new Error("SignetEmbed.open: give the url of the embedded view");
    var url = new URL(options.url, global.location.href);
    var origin = url.origin;
    var parent = element(options.container);
    if (!parent) throw new Error("SignetEmbed.open: no such container");
    var handlers = {};
    var loaded = false;
    var closed = false;

    var frame = document.createElement("iframe");
    frame.src = url.href;
    frame.title = options.title || "Signet";
    frame.setAttribute("referrerpolicy", "no-referrer");
    frame.style.border = "0";
    frame.style.width = options.width || "100%";
    frame.style.height = options.height || "820px";

    function dispatch(event) {
      var list = (handlers[event.type] || []).concat(handlers["*"] || []);
      for (var i = 0; i < list.length; i++) {
        try {
          list[i](event);
        } catch (e) {
          setTimeout(function () {
            throw e;
          });
        }
      }
      if (typeof options.onEvent === "function") options.onEvent(event);
    }

    function listener(message) {
      if (closed || message.origin !== origin || message.source !== frame.contentWindow) return;
      var data = message.data;
      if (!data || data.source !== "signet" || typeof data.type !== "string") return;
      if (data.type === "loaded") loaded = true;
      dispatch(data);
    }

    global.addEventListener("message", listener);
    parent.appendChild(frame);

    var timeout = options.timeout === undefined ? 20000 : options.timeout;
    var timer =
      timeout > 0
        ? setTimeout(function () {
            if (!loaded && !closed) {
              dispatch({ source: "signet", type: "error", code: "not_loaded", message: "the signing view did not load" });
            }
          }, timeout)
        : null;

    return {
      frame: frame,
      /** Calls `fn(event)` for events of `type` ("*": every event); returns the view. */
      on: function (type, fn) {
        (handlers[type] = handlers[type] || []).push(fn);
        return this;
      },
      /** Removes the view and stops listening. */
      close: function () {
        closed = true;
        if (timer) clearTimeout(timer);
        global.removeEventListener("message", listener);
        if (frame.parentNode) frame.parentNode.removeChild(frame);
      },
    };
  }

  global.SignetEmbed = { open: open, version: 1 };
})(window);
