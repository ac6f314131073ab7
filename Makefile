# painpath: the daemon, its library, its CLI and its tests.
#
#   make run     install missing packages, build, start ./var's PostgreSQL, serve
#   make check   install missing packages, build, run every test
#
# BUILD selects the build directory, so sanitizer builds live beside the
# normal one (make check runs both).

CC       ?= cc
BUILD    ?= build
OPT      ?= -O2 -g
SAN      ?=
PKGS      = libevent libevent_openssl openssl jansson libpq
CPPFLAGS += -D_GNU_SOURCE -Ilib -DPAINPATH_SOURCE_DIR='"$(CURDIR)"'
CFLAGS   += -std=c11 $(OPT) $(SAN) -Wall -Wextra -Werror -Wshadow \
            -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
            -fno-strict-aliasing $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
LDFLAGS  += $(SAN)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

PORT         ?= 8080
PAINPATH_VAR ?= $(CURDIR)/var

LIB_SRC    = $(wildcard lib/*.c)
LIB_OBJ    = $(LIB_SRC:%.c=$(BUILD)/%.o)
DAEMON_SRC = $(wildcard daemon/*.c)
DAEMON_OBJ = $(DAEMON_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC   = $(filter-out test/check_e2e%.c,$(wildcard test/check_*.c))
E2E_SRC    = $(wildcard test/check_e2e*.c)
HARNESS_SRC = test/harness.c

.PHONY: all deps run check unit e2e sanitize valgrind format format-check clean bench bench-coordinators fuzz

all: $(BUILD)/painpathd $(BUILD)/painpath

deps:
	@contrib/install-deps.sh
	@contrib/install-node-tools.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libpainpath.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/painpathd: $(DAEMON_OBJ) $(BUILD)/libpainpath.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/painpath: $(BUILD)/cli/painpath.o $(BUILD)/libpainpath.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/check_unit: $(UNIT_SRC:%.c=$(BUILD)/%.o) $(BUILD)/test/harness.o $(BUILD)/libpainpath.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

$(BUILD)/check_e2e: $(E2E_SRC:%.c=$(BUILD)/%.o) $(BUILD)/test/harness.o $(BUILD)/libpainpath.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

run: deps all
	@PORT=$(PORT) PAINPATH_VAR=$(PAINPATH_VAR) BUILD=$(BUILD) contrib/run.sh

unit: $(BUILD)/check_unit
	cd $(CURDIR) && $(BUILD)/check_unit

e2e: $(BUILD)/check_e2e $(BUILD)/painpathd $(BUILD)/painpath
	cd $(CURDIR) && PAINPATHD=$(BUILD)/painpathd PAINPATH_CLI=$(BUILD)/painpath $(BUILD)/check_e2e

# The whole suite once more under AddressSanitizer + UBSan, in its own tree.
# Stack use after return catches pointers into a returned frame.
sanitize: export ASAN_OPTIONS = detect_stack_use_after_return=1
sanitize:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" unit e2e

# A short run of end-to-end tests with the daemon under valgrind: no
# memory errors, no definite or indirect leaks.
valgrind: $(BUILD)/check_e2e $(BUILD)/painpathd $(BUILD)/painpath
	cd $(CURDIR) && CK_RUN_CASE=core VALGRIND_DAEMON=$(BUILD)/painpathd \
	  PAINPATHD=test/valgrind-painpathd.sh PAINPATH_CLI=$(BUILD)/painpath \
	  $(BUILD)/check_e2e

check: deps all format-check
	$(MAKE) unit
	$(MAKE) e2e
	$(MAKE) sanitize
	$(MAKE) valgrind

FORMAT_FILES = $(wildcard lib/*.[ch] daemon/*.[ch] cli/*.[ch] test/*.[ch] bench/*.[ch] fuzz/*.[ch])
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format: ok"

bench: deps all
	@BUILD=$(BUILD) bench/run.sh

# A million pathways loaded with SQL: worklist pages and the night's report.
bench-coordinators: deps all
	@BUILD=$(BUILD) bench/coordinators.sh

# libFuzzer targets (clang); FUZZ_SECONDS per target.  Not part of check.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
fuzz: deps
	@BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
