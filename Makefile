# `make demo` and `make test` work on a fresh clone: they create .venv and install first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# requirements.lock: the exact versions the test suite passed with (refresh: `make lock`)
LOCK ?= requirements.lock
PIP_INSTALL := $(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt \
	-c $(LOCK)
EXTRAS := .[dev,metrics,reference,restore,dnsmos,text,onnx,ui,browser]
KDIFF := k-diffusion==0.1.1.post1
# the peer U-Net `make bench-unet-peers` times ours against; without its dependencies, which
# ask for torchaudio (a CUDA build on the registry)
ADP := audio-diffusion-pytorch==0.1.3 a-unet==0.0.16 einops==0.8.2

.PHONY: install lock demo test test-all test-browser bench bench-samplers codecs bench-decoders codecs-speech \
	bench-decoders-speech bench-export bench-restore bench-long bench-restore-tasks bench-longform data-real data-music \
	diagnose-music bench-unet-peers \
	lint format clean

$(STAMP): pyproject.toml constraints.txt $(LOCK)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing audiodiff into $(VENV) (the versions in $(LOCK); CPU torch) ..."
	$(PIP_INSTALL) -e "$(EXTRAS)"
	$(PIP_INSTALL) --no-deps "$(KDIFF)"
	@touch $(STAMP)

install: $(STAMP)

# lock: resolve the newest releases the pyproject ranges allow in a scratch venv, run the
# tests there, and only if they pass write their exact versions to requirements.lock
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt \
		-e "$(EXTRAS)"
	.venv-lock/bin/python -m pip install --quiet --disable-pip-version-check --no-deps "$(KDIFF)"
	.venv-lock/bin/python -m pytest -q -p no:cacheprovider
	{ echo "# Exact versions \`make test\` passed with (written by \`make lock\` on $$(date -u +%F)," \
	  "$$(.venv-lock/bin/python -V)). Used as pip constraints by the Makefile."; \
	  .venv-lock/bin/python -m pip freeze --exclude-editable | sed -E 's/\+cpu$$//'; } > $(LOCK).new
	mv $(LOCK).new $(LOCK)
	rm -rf .venv-lock
	@echo "wrote $(LOCK); review the diff, then commit it"

# demo: build the synth set, train the tiny model (~8 min on 2 cores), generate a labelled
# grid, score it against held-out synth clips (a second set drawn with another seed).
demo: $(STAMP)
	$(PY) -m audiodiff data synth
	$(PY) -m audiodiff data synth out=data/synth_heldout seed=1 n=200
	rm -rf outputs/demo
	$(PY) -m audiodiff train experiment=demo
	$(PY) -m audiodiff generate ckpt=outputs/demo/run/model prompts=synth_grid seconds=1.0 \
		out=outputs/demo/generated
	$(PY) -m audiodiff evaluate generated=outputs/demo/generated reference=data/synth_heldout

test: $(STAMP)
	$(PY) -m pytest -q

test-all: $(STAMP)
	$(PY) -m pytest -q -m "not gpu"

# test-browser: the web UI in headless Chromium (Debian's chromium + chromium-driver; installed
# here with apt-get when missing and run as root; the tests skip with the reason otherwise)
test-browser: $(STAMP)
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y -q chromium chromium-driver >/dev/null || \
	    { apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null; }; \
	  else echo "test-browser: install chromium and chromium-driver (apt-get) to run these"; fi; \
	fi
	$(PY) -m pytest -q -m browser tests/ui

bench: $(STAMP)
	$(PY) scripts/bench_representation.py
	$(PY) scripts/bench_train.py
	$(PY) scripts/bench_generate.py
	$(PY) scripts/bench_overhead.py --modes free --threads 1

# quality versus steps on the trained demo model (run `make demo` first; ~10 min)
bench-samplers: $(STAMP)
	@test -f outputs/demo/run/model/model.safetensors || \
		{ echo "no demo model: run 'make demo' first"; exit 2; }
	$(PY) scripts/bench_samplers.py --ckpt outputs/demo/run/model --prompts synth_grid \
		--reference-dir data/synth_heldout --name demo

# the synth-set vocoder and autoencoder (~35 min on 2 cores), then their benchmark
codecs: $(STAMP)
	$(PY) -m audiodiff data synth
	$(PY) -m audiodiff train experiment=vocoder_synth
	$(PY) -m audiodiff train experiment=autoencoder_synth

# the ONNX export: parity with PyTorch, then speed (onnxruntime vs torch eager and
# torch.compile: denoiser calls/s at batch 1 and 16, vocoder and 4 s generation x real time)
bench-export: $(STAMP)
	$(PY) scripts/bench_export.py
	$(PY) scripts/bench_export_speed.py

# training speed of our U-Net against audio-diffusion-pytorch's UNetV0 at equal parameters,
# in one process, eager and under torch.compile (~4 min on 2 cores)
bench-unet-peers: $(STAMP)
	$(PIP_INSTALL) --no-deps $(ADP)
	$(PY) scripts/bench_unet_peers.py --compile

bench-decoders: $(STAMP)
	$(PY) -m audiodiff data synth out=data/synth_heldout seed=1 n=200
	$(PY) scripts/bench_decoders.py --clips data/synth_heldout --name synth --n 32 --seconds 1 \
		--pitch --vocoder outputs/vocoder/run/model --autoencoder outputs/autoencoder/run/model \
		--sheet outputs/bench/decoders_synth.png

# the speech vocoder (~30 min, 1 thread; needs make data-real), its benchmark and phase oracle
codecs-speech: $(STAMP)
	$(PY) -m audiodiff train experiment=vocoder_speech

bench-decoders-speech: $(STAMP)
	$(PY) scripts/bench_decoders.py --clips data/speech_heldout --name speech --n 24 --seconds 2 \
		--speech --pitch --vocoder outputs/vocoder_speech/run/model \
		--sheet outputs/bench/decoders_speech.png --sheet-clips 3
	$(PY) scripts/phase_oracle.py --clips data/speech_heldout --n 24 --seconds 2 \
		--vocoder outputs/vocoder_speech/run/model

# denoising on held-out voices and noise: the restoration model (experiment=
# denoise_speech_cpu) and the speech prior (experiment=speech_prior_cpu, SDEdit) against the
# classical baselines (needs make data-real with the held-out voices)
PRIOR := outputs/speech_prior/run/model
bench-restore: $(STAMP)
	$(PY) scripts/bench_restore.py --ckpt outputs/denoise_speech/run/model \
		$(if $(wildcard $(PRIOR)),--prior $(PRIOR)) \
		--clean data/speech_heldout_voices --music data/music_heldout --n 30

# a 10-minute noisy file restored in chunks: peak memory, x real time, SI-SDR, and spectral
# flux at the chunk seams against elsewhere (same model and held-out voices as bench-restore)
bench-long: $(STAMP)
	$(PY) scripts/bench_long_file.py --ckpt outputs/denoise_speech/run/model \
		--clean data/speech_heldout_voices

# declipping, bandwidth extension (4 -> 8 kHz) and gap filling on the held-out voices: the
# multi-task restoration model (route 1; experiment=restore_speech_cpu) and the speech prior
# (route 2, data consistency; experiment=speech_prior_cpu) against classical baselines
bench-restore-tasks: $(STAMP)
	$(PY) scripts/bench_restore_tasks.py --ckpt outputs/restore_speech/run/model \
		$(if $(wildcard $(PRIOR)),--prior $(PRIOR)) \
		--clean data/speech_heldout_voices --n 20

# long-form clips and loops of a trained model (CKPT=its model folder or last.ckpt): spectral
# flux and mel distance at the window boundaries and the loop point against inside the windows
bench-longform: $(STAMP)
	@test -n "$(CKPT)" || { echo "usage: make bench-longform CKPT=outputs/RUN/model"; exit 2; }
	$(PY) scripts/bench_longform.py --ckpt $(CKPT) $(BENCH_ARGS)

# real audio from Debian packages (apt-get install fluidsynth fluid-soundfont-gm espeak-ng)
data-real: $(STAMP)
	$(PY) scripts/make_real_sets.py music --out data/music
	$(PY) scripts/make_real_sets.py music --seed 1 --n 100 --out data/music_heldout
	$(PY) scripts/make_real_sets.py speech --out data/speech
	$(PY) scripts/make_real_sets.py speech --seed 1 --n 80 --out data/speech_heldout
	$(PY) scripts/make_real_sets.py speech --seed 2 --n 60 --out data/speech_heldout_voices \
		--voices "en-gb-x-rp,en-gb-x-gbclan+f2,en-us-nyc,en-gb-x-gbcwmd+f4"

# the data of experiment=music_real_cpu: 1500 rendered clips, copies of their notes shifted
# by -2..+2 semitones, 100 held-out notes and 300 more from another seed (about 2.5 minutes
# on 2 cores)
data-music: $(STAMP)
	@test -f data/music_1500/metadata.csv || $(PY) scripts/make_real_sets.py music \
		--out data/music_1500 --n 1500 --seed 0
	@test -f data/music_1500_shift/metadata.csv || $(PY) scripts/shift_pitch.py \
		--data data/music_1500 --out data/music_1500_shift --semitones -2 -1 1 2 --kinds note
	@test -f data/music_notes_heldout/metadata.csv || $(PY) scripts/make_real_sets.py music \
		--out data/music_notes_heldout --n 100 --seed 2 --kinds note
	@test -f data/music_notes_heldout3/metadata.csv || $(PY) scripts/make_real_sets.py music \
		--out data/music_notes_heldout3 --n 300 --seed 3 --kinds note

# representation statistics, low-note mel resolution and the Griffin-Lim pitch ceiling on a
# real-instrument set against the synth set (renders data/music_real* first if missing)
diagnose-music: $(STAMP)
	@test -f data/music_real/metadata.csv || $(PY) scripts/make_real_sets.py music \
		--out data/music_real --n 400 --seconds 2 --seed 0
	@test -f data/music_real_heldout/metadata.csv || $(PY) scripts/make_real_sets.py music \
		--out data/music_real_heldout --n 100 --seconds 2 --seed 1
	$(PY) scripts/diagnose_music.py --data data/music_real --heldout data/music_real_heldout

lint: $(STAMP)
	$(PY) -m ruff check audiodiff tests scripts
	$(PY) -m ruff format --check audiodiff tests scripts

format: $(STAMP)
	$(PY) -m ruff format audiodiff tests scripts
	$(PY) -m ruff check --fix audiodiff tests scripts

clean:
	rm -rf $(VENV) outputs .pytest_cache .ruff_cache
