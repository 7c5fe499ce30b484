# faultline build.
#
#   make                 release build (-O2 -g, assertions on): build/libfaultline.a, build/faultline
#   make test            build and run every test (unit + simulator), prints "N passed, N failed"
#   make MODE=debug      -O0 build in build/debug/
#   make MODE=asan test  AddressSanitizer + UndefinedBehaviorSanitizer build and tests, build/asan/
#   make CC=clang        any C11 compiler; gcc and clang are both warning-free
#   make WERROR=1        warnings are errors (CI)
#   make format          apply .clang-format;  make format-check: fail if any file is not formatted
#   make fuzz            libFuzzer targets (clang), build/fuzz/
#   make install         PREFIX=/usr/local DESTDIR=...: the binary, libfaultline.a, the shared
#                        libfaultline.so.MAJOR (only fl_ symbols exported), the headers under
#                        include/faultline/, faultline.pc and the man page;  make uninstall
#
# Sources are discovered: every src/<module>/*.c except src/cli goes into the library, every
# src/cli/*.c into the binary, every tests/{unit,sim}/*.c becomes one test program linked
# with tests/harness/*.c. Header dependencies are generated (-MMD).

MODE   ?= release
CC     ?= cc
WERROR ?= 0

ifeq ($(MODE),release)
  OUT    := build
  OPT    := -O2 -g
else ifeq ($(MODE),debug)
  OUT    := build/debug
  OPT    := -O0 -g
else ifeq ($(MODE),asan)
  OUT    := build/asan
  OPT    := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
else
  $(error MODE must be release, debug or asan)
endif

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wno-unused-parameter
ifeq ($(WERROR),1)
  WARN += -Werror
endif

# libsodium (Debian: libsodium-dev) authenticates gossip datagrams (src/gossip/gossip_auth.c, the
# only user), found through pkg-config. Optional: without it everything builds and runs, but
# `faultline gossip --key-file` refuses with a message, and the keyed tests say they skip.
# CI installs it (.ci/run).
SODIUM_LIBS   := $(shell pkg-config --libs libsodium 2>/dev/null)
ifneq ($(SODIUM_LIBS),)
  SODIUM_CFLAGS := $(shell pkg-config --cflags libsodium 2>/dev/null) -DFL_HAVE_SODIUM
else
  ifeq ($(filter clean format format-check,$(MAKECMDGOALS)),)
    $(info note: libsodium not found by pkg-config: gossip packet authentication is left out (apt-get install libsodium-dev pkg-config))
  endif
endif

# OpenSSL (Debian: libssl-dev) gives TLS on the client and peer ports, `faultline certs` and
# `faultline bench --tls` (src/io/tls*.c, src/io/stream.c), found through pkg-config. Optional
# like libsodium: without it `make` prints a note, the --tls options are refused with a message
# naming the package, and the TLS tests say they skip. CI installs it (.ci/run).
SSL_LIBS := $(shell pkg-config --libs openssl 2>/dev/null)
ifneq ($(SSL_LIBS),)
  SSL_CFLAGS := $(shell pkg-config --cflags openssl 2>/dev/null) -DFL_HAVE_OPENSSL
else
  ifeq ($(filter clean format format-check,$(MAKECMDGOALS)),)
    $(info note: OpenSSL not found by pkg-config: TLS is left out (apt-get install libssl-dev pkg-config))
  endif
endif

# libyaml (Debian: libyaml-dev) reads scenario files (src/scenario/scenario_yaml.c, the only
# user: `faultline sim --scenario`, `faultline nemesis --scenario`, `faultline shrink`), found
# through pkg-config. Optional like libsodium: without it `make` prints a note, reading a
# scenario is refused with a message naming the package, and the tests that read one say they
# skip; writing DIR/scenario.yaml needs no library. CI installs it (.ci/run).
YAML_LIBS := $(shell pkg-config --libs yaml-0.1 2>/dev/null)
ifneq ($(YAML_LIBS),)
  YAML_CFLAGS := $(shell pkg-config --cflags yaml-0.1 2>/dev/null) -DFL_HAVE_YAML
else
  ifeq ($(filter clean format format-check,$(MAKECMDGOALS)),)
    $(info note: libyaml not found by pkg-config: scenario files cannot be read (apt-get install libyaml-dev pkg-config))
  endif
endif

CPPFLAGS += -Iinclude -Isrc -Itests/harness -D_GNU_SOURCE $(SODIUM_CFLAGS) $(SSL_CFLAGS) $(YAML_CFLAGS)
CFLAGS   += -std=c11 $(OPT) $(WARN) -MMD -MP
LDFLAGS  += $(filter -fsanitize=%,$(OPT))
LDLIBS   += -lm -lpthread $(SODIUM_LIBS) $(SSL_LIBS) $(YAML_LIBS)

LIB_SRC  := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c)))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
HARN_SRC := $(sort $(wildcard tests/harness/*.c))
TEST_SRC := $(sort $(wildcard tests/unit/*.c tests/sim/*.c))
BENCH_SRC:= $(sort $(wildcard bench/*.c))
EXAMPLE_SRC := $(sort $(wildcard examples/*.c))
TEST_SCRIPTS := $(sort $(wildcard tests/scripts/test_*.sh))

LIB_OBJ  := $(LIB_SRC:%.c=$(OUT)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(OUT)/obj/%.o)
HARN_OBJ := $(HARN_SRC:%.c=$(OUT)/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(OUT)/tests/%)
BENCH_BIN:= $(BENCH_SRC:bench/%.c=$(OUT)/bench/%)
EXAMPLE_BIN := $(EXAMPLE_SRC:examples/%.c=$(OUT)/examples/%)

# The shared library: the same sources compiled position-independent, linked with a version
# script that exports only the public fl_ names (fl__ internals and everything else stay
# local), soname libfaultline.so.MAJOR.
VERSION := $(shell sed -n 's/^\#define FL_VERSION "\(.*\)"/\1/p' src/cli/cli.h)
MAJOR   := $(firstword $(subst ., ,$(VERSION)))
PIC_OBJ := $(LIB_SRC:%.c=$(OUT)/pic/%.o)
SHLIB   := $(OUT)/libfaultline.so.$(VERSION)
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
MANDIR  ?= $(PREFIX)/share/man

LIB := $(OUT)/libfaultline.a
BIN := $(OUT)/faultline
# The disk fault shim of `faultline nemesis` (tools/shim/): an LD_PRELOAD library beside the
# binary, never part of libfaultline.a; built without sanitizers (it is loaded into others).
SHIM := $(OUT)/libflshim.so

.SECONDARY:
.PHONY: all test tests bench format format-check fuzz fuzz-smoke clean install uninstall shared
all: $(LIB) $(BIN) $(SHIM) $(SHLIB)
shared: $(SHLIB)

$(OUT)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# Tests write their scratch files under FL_TEST_TMP, one directory per build directory (a hash
# of its absolute path), so test runs of two checkouts or two modes at once never collide.
TEST_TMP := /tmp/fl-test-$(firstword $(shell printf '%s' '$(abspath $(OUT))' | cksum))
$(OUT)/obj/tests/%.o: CPPFLAGS += -DFL_TEST_TMP='"$(TEST_TMP)"'

$(LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(OUT)/pic/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -c $< -o $@

# Exported: the defined global symbols named fl_ but not fl__ (nm over the PIC objects).
$(OUT)/libfaultline.map: $(PIC_OBJ)
	@{ echo '{ global:'; nm -g --defined-only $(PIC_OBJ) | awk '$$3 ~ /^fl_[^_]/ { print "  " $$3 ";" }' | sort -u; \
	  echo 'local: *; };'; } >$@

$(SHLIB): $(PIC_OBJ) $(OUT)/libfaultline.map
	$(CC) -shared $(LDFLAGS) -Wl,-soname,libfaultline.so.$(MAJOR) \
	  -Wl,--version-script=$(OUT)/libfaultline.map -Wl,--no-undefined $(PIC_OBJ) $(LDLIBS) -o $@

$(OUT)/examples/%: $(OUT)/obj/examples/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS) $(CLI_OBJ) $(LIB) $(LDLIBS) -o $@

$(SHIM): tools/shim/flshim.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -g -fPIC -shared $(WARN) -D_GNU_SOURCE $< -o $@ -ldl -lpthread

$(OUT)/tests/%: $(OUT)/obj/tests/%.o $(HARN_OBJ) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $< $(HARN_OBJ) $(LIB) $(LDLIBS) -o $@

$(OUT)/bench/%: $(OUT)/obj/bench/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

tests: $(TEST_BIN) $(BIN) $(SHIM) $(SHLIB) $(EXAMPLE_BIN)
# Scripts under tests/scripts/test_*.sh run beside the programs; they learn the build from the
# environment (the install test installs this build into a temporary DESTDIR).
test: tests
	@FL_OUT=$(OUT) FL_MODE=$(MODE) FL_CC="$(CC)" FL_SANITIZE="$(filter -fsanitize=%,$(OPT))" \
	  sh tests/run.sh $(OUT) $(TEST_BIN) $(TEST_SCRIPTS)

# make install PREFIX=/usr/local DESTDIR=/tmp/stage (DESTDIR: a staging root, for packages)
install: $(LIB) $(BIN) $(SHLIB)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)/faultline \
	  $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/faultline
	install -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/libfaultline.a
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/libfaultline.so.$(VERSION)
	ln -sf libfaultline.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libfaultline.so.$(MAJOR)
	ln -sf libfaultline.so.$(MAJOR) $(DESTDIR)$(LIBDIR)/libfaultline.so
	install -m 644 include/faultline/*.h $(DESTDIR)$(INCDIR)/faultline/
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCDIR@|$(INCDIR)|' \
	  -e 's|@VERSION@|$(VERSION)|; s|@LIBS@|$(strip -lm -lpthread $(SODIUM_LIBS) $(SSL_LIBS) $(YAML_LIBS))|' \
	  tools/faultline.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/faultline.pc
	install -m 644 docs/faultline.1 $(DESTDIR)$(MANDIR)/man1/faultline.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/faultline $(DESTDIR)$(LIBDIR)/libfaultline.a \
	  $(DESTDIR)$(LIBDIR)/libfaultline.so $(DESTDIR)$(LIBDIR)/libfaultline.so.$(MAJOR) \
	  $(DESTDIR)$(LIBDIR)/libfaultline.so.$(VERSION) $(DESTDIR)$(LIBDIR)/pkgconfig/faultline.pc \
	  $(DESTDIR)$(MANDIR)/man1/faultline.1
	rm -f $(addprefix $(DESTDIR)$(INCDIR)/faultline/,$(notdir $(wildcard include/faultline/*.h)))
	-rmdir $(DESTDIR)$(INCDIR)/faultline 2>/dev/null

bench: $(BENCH_BIN) $(BIN) $(SHIM)

FMT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FMT_FILES)
format-check:
	clang-format --dry-run --Werror $(FMT_FILES)

# libFuzzer targets: one per fuzz/*.c, linked against the library sources compiled once with
# coverage instrumentation and sanitizers (clang only), in build/fuzz/obj/.
FUZZ_SRC := $(sort $(wildcard fuzz/*.c))
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=build/fuzz/%)
FUZZ_FLAGS := -std=c11 -O1 -g -Iinclude -Isrc -D_GNU_SOURCE $(SODIUM_CFLAGS) $(SSL_CFLAGS) $(YAML_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined
FUZZ_OBJ := $(LIB_SRC:%.c=build/fuzz/obj/%.o)
fuzz: $(FUZZ_BIN)
build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -MMD -MP -c $< -o $@
build/fuzz/%: fuzz/%.c $(FUZZ_OBJ)
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJ) -lm -lpthread $(SODIUM_LIBS) $(SSL_LIBS) $(YAML_LIBS) -o $@
# Two targets at a time (one per core), FUZZ_SMOKE_S seconds each; the first crash prints the
# end of its log and fails the step.
FUZZ_SMOKE_S ?= 20
fuzz-smoke: fuzz
	@printf '%s\n' $(FUZZ_BIN) | xargs -P 2 -I{} sh -c 'b=$$(basename {}); \
	  mkdir -p build/fuzz/corpus-$$b; echo "fuzz: {} ($(FUZZ_SMOKE_S) s)"; \
	  {} -max_total_time=$(FUZZ_SMOKE_S) -print_final_stats=0 build/fuzz/corpus-$$b \
	    >build/fuzz/$$b.log 2>&1 || { tail -40 build/fuzz/$$b.log; exit 255; }' \
	  && echo "fuzz: no crash"

clean:
	rm -rf build

# (the fuzz objects too: a header change must rebuild them, or they disagree on struct layouts)
-include $(shell find $(OUT)/obj $(OUT)/pic build/fuzz/obj -name '*.d' 2>/dev/null)
