# fuzz.mk: builds and runs the libFuzzer targets.  GNU make.
#
# Called by "make fuzz", "make fuzz-smoke" and "make fuzz-build" in the
# build tree, which pass the paths, the library's sources and the
# dependencies' flags.  The library is compiled again here with clang,
# coverage instrumentation and AddressSanitizer and UBSan, into
# tests/fuzz/obj of the build tree; the ordinary build is not touched.
#
#   fuzz-build   the five targets: tests/fuzz/fuzz_{ack,conf,message,rules,template}
#   fuzz         each target for FUZZ_SECONDS (default 60), one after another
#   fuzz-smoke   each target over its seeds and regression inputs, then
#                FUZZ_SMOKE_SECONDS (default 10) of fuzzing; writes
#                tests/fuzz/smoke.log with one PASS: or FAIL: line per target
#
# A crash leaves its input in tests/fuzz/artifacts/; copy it to
# tests/fuzz/regressions/TARGET/ in the source tree, fix the bug, and the
# replay test of make check keeps it fixed.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_TARGETS ?= ack conf message rules template
FUZZ_OPTS ?=
FUZZ_SAN = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) $(WARN_CFLAGS) \
	-pthread -I$(top_builddir) -I$(top_srcdir)/include \
	-I$(top_srcdir)/tests/fuzz $(DEP_CPPFLAGS) $(DEP_CFLAGS) \
	-DJM_FUZZ_RULES_DIR='"$(top_srcdir)/rules"'

out = $(top_builddir)/tests/fuzz
obj = $(out)/obj
lib_objs = $(patsubst milter/%.c,$(obj)/%.o,$(filter milter/%.c,$(LIB_SOURCES)))
bins = $(FUZZ_TARGETS:%=$(out)/fuzz_%)

# Seeds, relative to the source tree; the first directory given to
# libFuzzer is the working corpus in the build tree, which it grows.
mail_seeds = tests/corpus/en tests/corpus/tr tests/corpus/fa contrib/demo/mail
seeds_message = $(mail_seeds)
seeds_ack = $(mail_seeds)
seeds_rules = rules tests/fuzz/seeds/rules
seeds_template = rules/replies tests/fuzz/seeds/template
seeds_conf = tests/fuzz/seeds/conf
max_len_message = 65536
max_len_ack = 65536
max_len_rules = 16384
max_len_template = 8192
max_len_conf = 8192

export ASAN_OPTIONS ?= detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS ?= suppressions=$(top_srcdir)/tests/unit/lsan.supp:print_suppressions=0

# run T SECONDS: one target over its corpus, seeds and regressions.
run = mkdir -p $(out)/corpus/$(1) $(out)/artifacts && \
	$(out)/fuzz_$(1) -max_total_time=$(2) -timeout=10 -rss_limit_mb=2048 \
	    -max_len=$(max_len_$(1)) -print_final_stats=1 \
	    -artifact_prefix=$(out)/artifacts/$(1)- $(FUZZ_OPTS) \
	    $(out)/corpus/$(1) \
	    $(foreach d,$(seeds_$(1)) tests/fuzz/regressions/$(1),\
	    $(wildcard $(top_srcdir)/$(d)))

.PHONY: fuzz fuzz-build fuzz-smoke
fuzz-build: $(bins)

$(obj)/%.o: $(top_srcdir)/milter/%.c
	@mkdir -p $(obj)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(obj)/fuzz_util.o: $(top_srcdir)/tests/fuzz/fuzz_util.c
	@mkdir -p $(obj)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(obj)/fuzz_%.o: $(top_srcdir)/tests/fuzz/fuzz_%.c
	@mkdir -p $(obj)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(out)/fuzz_%: $(obj)/fuzz_%.o $(obj)/fuzz_util.o $(lib_objs)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ $(DEP_LIBS)

fuzz: $(bins)
	@for t in $(FUZZ_TARGETS); do \
		echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
		$(MAKE) -f $(firstword $(MAKEFILE_LIST)) --no-print-directory \
		    run-$$t SECONDS=$(FUZZ_SECONDS) || exit 1; \
	done

fuzz-smoke: $(bins)
	@: >$(out)/smoke.log; \
	for t in $(FUZZ_TARGETS); do \
		if $(MAKE) -f $(firstword $(MAKEFILE_LIST)) --no-print-directory \
		    run-$$t SECONDS=$(FUZZ_SMOKE_SECONDS) \
		    >$(out)/smoke-$$t.log 2>&1; then \
			echo "PASS: fuzz_$$t" | tee -a $(out)/smoke.log; \
		else \
			tail -n 40 $(out)/smoke-$$t.log; \
			echo "FAIL: fuzz_$$t" | tee -a $(out)/smoke.log; \
		fi; \
	done; \
	! grep -q '^FAIL' $(out)/smoke.log

run-%: $(out)/fuzz_%
	$(call run,$*,$(SECONDS))
