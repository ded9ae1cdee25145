//! Where a visible signature goes: from the rectangle a person asks for, on the page as it is
//! displayed, to the widget's `/Rect` in default user space and the appearance's `/Matrix`.

use signet_pdf::Rect;

/// A rectangle in the page as a person sees it: PDF points, origin at the bottom-left of the
/// visible (cropped, rotated) page.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VisualRect {
    /// Left.
    pub x1: f64,
    /// Bottom.
    pub y1: f64,
    /// Right.
    pub x2: f64,
    /// Top.
    pub y2: f64,
}

impl VisualRect {
    /// Parses `X1,Y1,X2,Y2`.
    pub fn parse(s: &str) -> Option<VisualRect> {
        let v: Vec<f64> = s.split(',').map(|p| p.trim().parse().ok()).collect::<Option<_>>()?;
        let [a, b, c, d] = v[..] else { return None };
        if !v.iter().all(|x| x.is_finite()) || a == c || b == d {
            return None;
        }
        Some(VisualRect { x1: a.min(c), y1: b.min(d), x2: a.max(c), y2: b.max(d) })
    }

    /// Width as seen.
    pub fn width(&self) -> f64 {
        self.x2 - self.x1
    }

    /// Height as seen.
    pub fn height(&self) -> f64 {
        self.y2 - self.y1
    }
}

/// The widget rectangle (default user space) and the appearance matrix that keeps the
/// appearance upright on a page shown with `/Rotate rotate` (ISO 32000-2 §7.7.3.3 /Rotate,
/// §12.5.5 Algorithm "appearance streams": the form's BBox, transformed by /Matrix, is
/// mapped onto /Rect).
pub fn to_user_space(r: &VisualRect, crop: &Rect, rotate: u16) -> (Rect, [f64; 6]) {
    // (u, v) on the visible page → (x, y) in user space; the page is displayed turned
    // clockwise by `rotate` degrees.
    let map = |u: f64, v: f64| -> (f64, f64) {
        match rotate {
            90 => (crop.urx - v, crop.lly + u),
            180 => (crop.urx - u, crop.ury - v),
            270 => (crop.llx + v, crop.ury - u),
            _ => (crop.llx + u, crop.lly + v),
        }
    };
    let (ax, ay) = map(r.x1, r.y1);
    let (bx, by) = map(r.x2, r.y2);
    let rect = Rect { llx: ax.min(bx), lly: ay.min(by), urx: ax.max(bx), ury: ay.max(by) };
    // the form's x axis must point to the visual right, its y axis to the visual top
    let matrix = match rotate {
        90 => [0.0, 1.0, -1.0, 0.0, 0.0, 0.0],
        180 => [-1.0, 0.0, 0.0, -1.0, 0.0, 0.0],
        270 => [0.0, -1.0, 1.0, 0.0, 0.0, 0.0],
        _ => [1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
    };
    (rect, matrix)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A4: Rect = Rect { llx: 0.0, lly: 0.0, urx: 595.0, ury: 842.0 };

    #[test]
    fn unrotated_offset_crop() {
        let crop = Rect { llx: 130.0, lly: 230.0, urx: 682.0, ury: 962.0 };
        let (r, m) = to_user_space(&VisualRect { x1: 10.0, y1: 20.0, x2: 110.0, y2: 70.0 }, &crop, 0);
        assert_eq!(r, Rect { llx: 140.0, lly: 250.0, urx: 240.0, ury: 300.0 });
        assert_eq!(m, [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn rotated_90_swaps_axes() {
        // visible page is 842 wide, 595 high; bottom-left visual corner is user (595, 0)
        let (r, _) = to_user_space(&VisualRect { x1: 0.0, y1: 0.0, x2: 200.0, y2: 100.0 }, &A4, 90);
        assert_eq!(r, Rect { llx: 495.0, lly: 0.0, urx: 595.0, ury: 200.0 });
    }

    #[test]
    fn rotated_270() {
        let (r, _) = to_user_space(&VisualRect { x1: 0.0, y1: 0.0, x2: 200.0, y2: 100.0 }, &A4, 270);
        assert_eq!(r, Rect { llx: 0.0, lly: 642.0, urx: 100.0, ury: 842.0 });
    }

    #[test]
    fn parse_rect() {
        assert_eq!(VisualRect::parse("300,50,100,150"), Some(VisualRect { x1: 100.0, y1: 50.0, x2: 300.0, y2: 150.0 }));
        assert_eq!(VisualRect::parse("1,2,3"), None);
        assert_eq!(VisualRect::parse("1,2,1,5"), None);
    }
}
