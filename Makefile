# The user's interface to cds.  Meson builds; this file names the jobs.
#
#   make          build build/cdsd, build/cdsctl, build/cds
#   make demo     install what is missing, build, run the demo
#   make check    install what is missing, build, run every test
#                 (unit, integration, bad input, sanitizers, short fuzz)
#   make bench    run the benchmark programs (figures on stdout)
#   make install  meson install: programs, systemd unit, man pages, docs
#                 (DESTDIR=... honoured; prefix from meson setup --prefix)
#   make fuzz     longer fuzzing runs
#   make deps     install missing Debian packages (as root) or say which

BUILD   ?= build
ASAN    ?= build-asan
FUZZB   ?= build-fuzz
FUZZ_SECONDS ?= 300

.PHONY: all deps demo check check-unit check-asan check-fuzz bench fuzz clean \
	install

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized

$(ASAN)/build.ninja:
	meson setup $(ASAN) --buildtype=debug -Db_sanitize=address,undefined \
		-Db_lundef=false

$(FUZZB)/build.ninja:
	CC=clang CXX=clang++ meson setup $(FUZZB) --buildtype=debugoptimized \
		-Dfuzz=true -Db_lundef=false

deps:
	@sh scripts/deps.sh

demo: deps all
	@sh scripts/demo.sh

check: deps all
	sh scripts/check.sh "$(BUILD)" "$(ASAN)" "$(FUZZB)"

check-unit: all
	meson test -C $(BUILD) --print-errorlogs

check-asan: $(ASAN)/build.ninja
	ninja -C $(ASAN)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		meson test -C $(ASAN) --print-errorlogs --timeout-multiplier 4

check-fuzz: $(FUZZB)/build.ninja
	ninja -C $(FUZZB)
	sh scripts/fuzz.sh "$(FUZZB)" 10

fuzz: $(FUZZB)/build.ninja
	ninja -C $(FUZZB)
	sh scripts/fuzz.sh "$(FUZZB)" $(FUZZ_SECONDS)

install: all
	meson install -C $(BUILD) --no-rebuild

bench: all
	CDS_BENCH_DEPS=1 sh scripts/deps.sh
	sh scripts/bench.sh "$(BUILD)"

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZB) var
