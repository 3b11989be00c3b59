//! Shrinks one photo to the classifier's input the way cityfix does (header checks, EXIF
//! orientation, JPEG decoded at a reduced DCT scale, resize to a square) and writes it as
//! a JPEG: the whole-process counterpart of `vipsthumbnail` in `scripts/bench-vips.sh`.
//!
//! Usage: `thumbnail IN.jpg OUT.jpg [SIDE_PX]` (SIDE_PX defaults to 224).

use std::process::ExitCode;

use cityfix::photos::{self, PhotoLimits};

fn run(args: &[String]) -> Result<(), String> {
    let [input, output, rest @ ..] = args else {
        return Err("usage: thumbnail IN.jpg OUT.jpg [SIDE_PX]".into());
    };
    let side = match rest.first() {
        Some(side) => side
            .parse::<u32>()
            .map_err(|e| format!("SIDE_PX {side:?}: {e}"))?,
        None => 224,
    };
    let bytes = std::fs::read(input).map_err(|e| format!("{input}: {e}"))?;
    let limits = PhotoLimits {
        model_input_px: side,
        ..PhotoLimits::default()
    };
    let image = photos::model_input(&bytes, &limits).map_err(|e| format!("{input}: {e}"))?;
    image.save(output).map_err(|e| format!("{output}: {e}"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("thumbnail: {message}");
            ExitCode::FAILURE
        }
    }
}
