# Canal — the two commands of the README, and a few more.
SWIFT ?= swift
FUZZ_SECONDS ?= 60

.PHONY: all deps build quickstart test fuzz bench clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

## quickstart: validate the example manifests and evaluate selectors against their endpoints.
quickstart: build
	@scripts/quickstart.sh

## test: the whole suite (unit, property, fuzzing, etcd and kernel tests).
test: deps
	$(SWIFT) build --build-tests
	@for f in selector manifest; do scripts/fuzz.sh $$f $(FUZZ_SECONDS) || exit 1; done
	# One test at a time: the etcd, namespace and BIRD suites measure real timeouts and real packets,
	# and on a 2-core machine running them side by side makes them race the clock, not the code.
	$(SWIFT) test --skip-build --no-parallel

fuzz: deps
	@for f in selector manifest; do scripts/fuzz.sh $$f $(FUZZ_SECONDS) || exit 1; done

## bench: the benchmarks of Benchmarks/, each printing `bench NAME VALUE UNIT` (and `ratio NAME VALUE`).
bench: deps
	$(SWIFT) run -c release --package-path Benchmarks canal-bench all

clean:
	rm -rf .build .build-* Benchmarks/.build Fuzz/.build
