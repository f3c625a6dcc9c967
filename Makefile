.DEFAULT_GOAL := help
SHELL := bash

.PHONY: help run test bench package lint fmt clean-local

help: ## list targets
	@echo "idlink targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

run: ## run every function locally on http://127.0.0.1:PORT (default 9000; moto + cargo lambda watch)
	bash scripts/run.sh

test: ## fmt check, clippy, tests against a local moto, cfn-lint (what CI runs)
	bash scripts/test.sh

bench: ## cold starts, CPU, round trips, memory, size, throughput vs hello-world (docs/performance.md)
	bash bench/run.sh

package: ## build every function for arm64 with sam build (.aws-sam/build/*/bootstrap; PACKAGE=JwksFunction for one)
	bash scripts/package.sh

lint: ## cargo fmt --check and clippy -D warnings
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt: ## format the code
	cargo fmt --all

clean-local: ## remove .local/ (logs, local keys, dev credentials)
	rm -rf .local
