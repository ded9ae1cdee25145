//! The fonts Signet embeds in what it draws, so that nothing depends on the fonts installed
//! on a machine: signature and form-field appearances (`signet-pdf`), seals (`signet-seal`)
//! and completion certificates (`signet-report`). They live here, under the crates that use
//! them, so that a binary holds one copy of each (the two are 4.8 MB together).
//!
//! Text is set with [`DEJAVU_SANS`] and, for the characters it lacks, [`DROID_SANS_FALLBACK`]
//! (which in turn has no ASCII letters or digits): between them, Latin, Greek, Cyrillic and
//! Chinese, Japanese and Korean text of everyday use. `fonts/README.md` says where each file
//! comes from and under which licence.
#![forbid(unsafe_code)]

/// *DejaVu Sans* 2.37 (Bitstream Vera licence, `fonts/LICENSE-DejaVu.txt`): Latin, Greek,
/// Cyrillic and many symbols; no CJK.
pub static DEJAVU_SANS: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// *Droid Sans Fallback* (Apache License 2.0, `fonts/LICENSE-DroidSansFallback.txt`): the
/// ideographs of GB 2312, Big5 and CJK Extension A, kana, bopomofo, CJK punctuation and the
/// full-width forms; no ASCII letters or digits.
pub static DROID_SANS_FALLBACK: &[u8] = include_bytes!("../fonts/DroidSansFallbackFull.ttf");

/// Whether `c` is a CJK character (ideographs, radicals, kana, bopomofo, CJK punctuation,
/// the half- and full-width forms): set from [`DROID_SANS_FALLBACK`] first, so that Chinese
/// punctuation such as `，` keeps its full-width shape where DejaVu Sans has a glyph too.
/// Every other character is set from [`DEJAVU_SANS`] first.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x2FDF      // radicals
        | 0x3000..=0x312F    // CJK symbols and punctuation, kana, bopomofo
        | 0x3190..=0x31FF
        | 0x3400..=0x4DBF    // Extension A
        | 0x4E00..=0x9FFF    // unified ideographs
        | 0xF900..=0xFAFF    // compatibility ideographs
        | 0xFE30..=0xFE4F    // compatibility forms
        | 0xFF00..=0xFFEF    // half-width and full-width forms
        | 0x20000..=0x3FFFF)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The files are the ones `fonts/README.md` names (a changed file fails here first).
    #[test]
    fn the_files_are_the_documented_ones() {
        assert_eq!(DEJAVU_SANS.len(), 759_720);
        assert_eq!(DROID_SANS_FALLBACK.len(), 4_033_420);
        assert_eq!(&DEJAVU_SANS[..4], b"\0\x01\0\0");
        assert_eq!(&DROID_SANS_FALLBACK[..4], b"\0\x01\0\0");
    }

    #[test]
    fn cjk_characters() {
        for c in ['签', '名', '，', '。', 'あ', 'Ａ', '㐀'] {
            assert!(is_cjk(c), "{c}");
        }
        for c in ['A', 'é', 'Я', ',', '?', ' '] {
            assert!(!is_cjk(c), "{c}");
        }
    }
}
