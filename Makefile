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

CPPFLAGS += -Iinclude -Isrc -Itests/harness -D_GNU_SOURCE $(SODIUM_CFLAGS) $(SSL_CFLAGS)
CFLAGS   += -std=c11 $(OPT) $(WARN) -MMD -MP
LDFLAGS  += $(filter -fsanitize=%,$(OPT))
LDLIBS   += -lm -lpthread $(SODIUM_LIBS) $(SSL_LIBS)

LIB_SRC  := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c)))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
HARN_SRC := $(sort $(wildcard tests/harness/*.c))
TEST_SRC := $(sort $(wildcard tests/unit/*.c tests/sim/*.c))
BENCH_SRC:= $(sort $(wildcard bench/*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(OUT)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(OUT)/obj/%.o)
HARN_OBJ := $(HARN_SRC:%.c=$(OUT)/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(OUT)/tests/%)
BENCH_BIN:= $(BENCH_SRC:bench/%.c=$(OUT)/bench/%)

LIB := $(OUT)/libfaultline.a
BIN := $(OUT)/faultline

.SECONDARY:
.PHONY: all test tests bench format format-check fuzz fuzz-smoke clean
all: $(LIB) $(BIN)

$(OUT)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS) $(CLI_OBJ) $(LIB) $(LDLIBS) -o $@

$(OUT)/tests/%: $(OUT)/obj/tests/%.o $(HARN_OBJ) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $< $(HARN_OBJ) $(LIB) $(LDLIBS) -o $@

$(OUT)/bench/%: $(OUT)/obj/bench/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

tests: $(TEST_BIN) $(BIN)
test: tests
	@sh tests/run.sh $(OUT) $(TEST_BIN)

bench: $(BENCH_BIN) $(BIN)

FMT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FMT_FILES)
format-check:
	clang-format --dry-run --Werror $(FMT_FILES)

# libFuzzer targets: one per fuzz/*.c, linked against the library sources compiled once with
# coverage instrumentation and sanitizers (clang only), in build/fuzz/obj/.
FUZZ_SRC := $(sort $(wildcard fuzz/*.c))
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=build/fuzz/%)
FUZZ_FLAGS := -std=c11 -O1 -g -Iinclude -Isrc -D_GNU_SOURCE $(SODIUM_CFLAGS) $(SSL_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined
FUZZ_OBJ := $(LIB_SRC:%.c=build/fuzz/obj/%.o)
fuzz: $(FUZZ_BIN)
build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -MMD -MP -c $< -o $@
build/fuzz/%: fuzz/%.c $(FUZZ_OBJ)
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJ) -lm -lpthread $(SODIUM_LIBS) $(SSL_LIBS) -o $@
fuzz-smoke: fuzz
	@for f in $(FUZZ_BIN); do echo "fuzz: $$f (20 s)"; \
	  mkdir -p build/fuzz/corpus-$$(basename $$f); \
	  $$f -max_total_time=20 -print_final_stats=0 build/fuzz/corpus-$$(basename $$f) \
	    >build/fuzz/$$(basename $$f).log 2>&1 || { tail -40 build/fuzz/$$(basename $$f).log; exit 1; }; \
	done; echo "fuzz: no crash"

clean:
	rm -rf build

# (the fuzz objects too: a header change must rebuild them, or they disagree on struct layouts)
-include $(shell find $(OUT)/obj build/fuzz/obj -name '*.d' 2>/dev/null)
