"""Screenshots of `audiodiff ui` on trained models, for the README and docs/ui.md: the
Generate tab after one click, and the Restore tab after denoising a held-out voice with pink
noise at 5 dB SNR, scored against its clean reference.

    python scripts/ui_screenshots.py --ckpt outputs/demo/run/model \\
        --restore-ckpt outputs/denoise_speech/run/model \\
        --clean data/speech_heldout_voices --out docs/img

Needs chromium + chromium-driver, gradio and selenium (`make test-browser` installs them).
"""

from __future__ import annotations

import argparse
import socket
import tempfile
from pathlib import Path

import torch
import ui_driver as ui

from audiodiff.audio.io import find_audio, load, save
from audiodiff.restore.noise import AddNoise, ColoredNoise


def noisy_pair(clean_dir: Path, tmp: Path) -> tuple[Path, Path]:
    """(noisy, clean) WAVs of the first held-out clip: pink noise at 5 dB SNR, seed 0."""
    clean, sr = load(find_audio(clean_dir)[0])
    op = AddNoise(sources={"pink": ColoredNoise(exponent=1.0)}, sample_rate=sr, snr_db=5.0)
    noisy, _ = op(clean[None], torch.Generator().manual_seed(0))
    return save(tmp / "noisy_speech.wav", noisy[0], sr), save(tmp / "clean_speech.wav", clean, sr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", required=True)
    parser.add_argument("--restore-ckpt", required=True)
    parser.add_argument("--clean", type=Path, required=True, help="held-out clean speech")
    parser.add_argument("--label", default="instrument=bell", help="LABEL=VALUE to pick")
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ui-shots-"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server, url = ui.start_server(
        [f"ckpt={args.ckpt}", f"restore_ckpt={args.restore_ckpt}", f"port={port}",
         f"work_dir={tmp / 'work'}"], tmp / "server.log",
    )  # fmt: skip
    page = ui.browser(1400, 1250)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        page.get(url)
        ui.wait_for(page, "#generate-button")
        label, value = args.label.split("=", 1)
        ui.choose(page, f"#label-{label}", value)
        ui.set_number(page, "#seed", "3")
        page.find_element("id", "generate-button").click()
        ui.wait_for(page, "#generate-audio-0 a[href]")
        ui.wait_for(page, "#generate-sheet img")
        page.save_screenshot(str(args.out / "ui_generate.png"))
        noisy, clean = noisy_pair(args.clean, tmp)
        ui.open_tab(page, "Restore")
        ui.upload(page, "#restore-input", noisy)
        ui.upload(page, "#restore-reference", clean)
        ui.wait_for(page, "#restore-reference audio")
        page.find_element("id", "restore-button").click()
        ui.wait_for(page, "#restore-file a[href]")
        ui.wait_for(page, "#restore-scores table")
        print(page.find_element("id", "restore-scores").text)
        page.save_screenshot(str(args.out / "ui_restore.png"))
        print(f"wrote {args.out / 'ui_generate.png'} and {args.out / 'ui_restore.png'}")
    finally:
        page.quit()
        server.terminate()


if __name__ == "__main__":
    main()
