# painpath: the daemon, its library, its CLI and its tests.
#
#   make run     install missing packages, build, start ./var's PostgreSQL, serve
#   make check   install missing packages, build, run every test
#   make install PREFIX=/usr/local DESTDIR=   (see "Installing" below)
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

# What this build is: git describe in a checkout; else the VERSION file a
# release tarball carries; else make VERSION=...
ifndef VERSION
VERSION := $(or $(shell git -C '$(CURDIR)' describe --always --dirty 2>/dev/null),$(shell cat '$(CURDIR)/VERSION' 2>/dev/null),unknown)
endif

LIB_SRC    = $(wildcard lib/*.c)
LIB_OBJ    = $(LIB_SRC:%.c=$(BUILD)/%.o)
DAEMON_SRC = $(wildcard daemon/*.c)
DAEMON_OBJ = $(DAEMON_SRC:%.c=$(BUILD)/%.o)
DAEMON_OBJ += $(BUILD)/gen/openapi_doc.o
UNIT_SRC   = $(filter-out test/check_e2e%.c test/check_ha.c,$(wildcard test/check_*.c))
E2E_SRC    = $(wildcard test/check_e2e*.c)
# What the test programs share: the harness and the TSV table reader.
TEST_LIB_SRC = $(wildcard test/harness_*.c) test/tsv.c
TEST_LIB_OBJ = $(TEST_LIB_SRC:%.c=$(BUILD)/%.o)

.PHONY: all deps run check unit e2e sanitize valgrind format format-check clean bench bench-coordinators fuzz \
	install uninstall install-check install-dirs run-stop-check ha-check fuzz-smoke FORCE
.PHONY: openapi-lint openapi-answers clang-check

all: $(BUILD)/painpathd $(BUILD)/painpath

deps:
	@contrib/install-deps.sh
	@contrib/install-node-tools.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# Only version.o sees the version, and only config.o and static.o the
# installed paths;
# each is rebuilt when its stamp's text changes (a new commit, another
# PREFIX), and nothing else is.
$(BUILD)/lib/version.o: CPPFLAGS += -DPAINPATH_VERSION='"$(VERSION)"'
$(BUILD)/lib/version.o: $(BUILD)/version.stamp
$(BUILD)/lib/config.o: CPPFLAGS += $(PATH_DEFS)
$(BUILD)/lib/config.o: $(BUILD)/paths.stamp
$(BUILD)/daemon/static.o: CPPFLAGS += $(PATH_DEFS)
$(BUILD)/daemon/static.o: $(BUILD)/paths.stamp

FORCE:
$(BUILD)/version.stamp: FORCE
	@mkdir -p $(@D)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@
$(BUILD)/paths.stamp: FORCE
	@mkdir -p $(@D)
	@echo '$(PATH_DEFS)' | cmp -s - $@ || echo '$(PATH_DEFS)' > $@

$(BUILD)/libpainpath.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/painpathd: $(DAEMON_OBJ) $(BUILD)/libpainpath.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The OpenAPI document, embedded for GET /v1/openapi.json (daemon/openapi.c).
$(BUILD)/gen/openapi_doc.c: doc/openapi.json contrib/embed.sh
	@mkdir -p $(dir $@)
	contrib/embed.sh openapi_json $< $@

$(BUILD)/gen/openapi_doc.o: $(BUILD)/gen/openapi_doc.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The daemon's modules without its main: the unit tests hold the route
# table against the OpenAPI document (test/check_openapi.c).
DAEMON_MOD_OBJ = $(filter-out $(BUILD)/daemon/main.o,$(DAEMON_OBJ))

CLI_SRC    = $(wildcard cli/*.c)

$(BUILD)/painpath: $(CLI_SRC:%.c=$(BUILD)/%.o) $(BUILD)/libpainpath.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/check_unit: $(UNIT_SRC:%.c=$(BUILD)/%.o) $(TEST_LIB_OBJ) $(DAEMON_MOD_OBJ) $(BUILD)/libpainpath.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

$(BUILD)/check_e2e: $(E2E_SRC:%.c=$(BUILD)/%.o) $(TEST_LIB_OBJ) $(BUILD)/libpainpath.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

$(BUILD)/check_ha: $(BUILD)/test/check_ha.o $(TEST_LIB_OBJ) $(BUILD)/libpainpath.a
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
	$(MAKE) openapi-lint
	$(MAKE) unit
	$(MAKE) openapi-answers
	$(MAKE) install-check
	$(MAKE) run-stop-check
	$(MAKE) ha-check
	$(MAKE) sanitize
	$(MAKE) valgrind
	$(MAKE) fuzz-smoke
	$(MAKE) clang-check

# The project builds with clang too, warnings as errors (compiled, not run:
# the suites already ran under gcc and its sanitizers).
clang-check:
	$(MAKE) BUILD=build-clang CC=clang all build-clang/check_unit \
	  build-clang/check_e2e build-clang/check_ha

# doc/openapi.json against redocly's recommended rules (redocly.yaml).  The
# CLI's notice about Node 20 is dropped from what it prints.
REDOCLY = REDOCLY_TELEMETRY=off test/node/node_modules/.bin/redocly
openapi-lint:
	@mkdir -p $(BUILD)
	@$(REDOCLY) lint --format=stylish doc/openapi.json \
	  2>$(BUILD)/openapi-lint.log; rc=$$?; \
	  grep -v '[╔║╚]' $(BUILD)/openapi-lint.log | grep -v '^ *$$'; exit $$rc

# The end-to-end suite with every answer recorded, then each answer held
# against the document's schema for its operation and status.  First the
# checker itself, on answers it must accept and answers it must refuse,
# and the document's event schema against the event parser's tables.
ANSWERS = $(BUILD)/answers.ndjson
OPENAPI_ANSWERS = node test/node/openapi-answers.mjs doc/openapi.json
openapi-answers: $(BUILD)/check_e2e $(BUILD)/painpathd $(BUILD)/painpath
	$(OPENAPI_ANSWERS) --brief test/data/openapi/answers-good.ndjson
	$(OPENAPI_ANSWERS) --expect-reject test/data/openapi/answers-wrong.ndjson
	node test/node/openapi-events.mjs doc/openapi.json \
	  test/data/events_valid.tsv test/data/events_invalid.tsv
	rm -f $(ANSWERS)
	PAINPATH_RECORD_ANSWERS=$(CURDIR)/$(ANSWERS) $(MAKE) e2e
	$(OPENAPI_ANSWERS) $(ANSWERS)

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

# libFuzzer targets (clang); FUZZ_SECONDS per target.  make check runs
# fuzz-smoke: each target built, its reproducers replayed and 5 s of
# fuzzing, so that a target that no longer builds is noticed.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
fuzz-smoke:
	@BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=5 fuzz/run.sh
fuzz: deps
	@BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh

clean:
	rm -rf build build-asan build-fuzz build-install build-install-check

# pg_auto_failover under load: kill -9 of the primary, then a switchover;
# every acknowledged event must be on the final primary exactly once.
# Once, with the normal build (the sanitizer run leaves it out).
ha-check: $(BUILD)/check_ha $(BUILD)/painpathd
	cd $(CURDIR) && PAINPATHD=$(BUILD)/painpathd $(BUILD)/check_ha

# SIGTERM to `make run`'s process group drains the daemon.
run-stop-check: all
	@BUILD=$(BUILD) MAKE='$(MAKE)' test/run-stop-check.sh

# --- Installing -------------------------------------------------------------
#
# Debian's layout: the daemon in sbin, the tool in bin, the schema and the
# shipped models in share/painpath, man pages in share/man, the example
# configuration (and a copy of the models to edit) in SYSCONFDIR/painpath,
# which is /etc for PREFIX=/usr and PREFIX/etc otherwise, and the systemd
# unit where systemd looks for it.  The binaries are built again in
# INSTALL_BUILD with the installed share directory compiled in, so they find
# the schema and the models without any setting.  An existing
# painpath.conf or model under SYSCONFDIR is never overwritten.
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
DATADIR    ?= $(PREFIX)/share/painpath
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/painpath
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR    ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
INSTALL_BUILD ?= build-install

ifdef INSTALLED
PATH_DEFS = -DPAINPATH_MODELS_DIR='"$(DATADIR)/models"' \
            -DPAINPATH_SCHEMA_DIR='"$(DATADIR)/schema"' \
            -DPAINPATH_WEB_DIR='"$(DATADIR)/web"'
endif

# contrib/painpathd.service names the default PREFIX's paths, so it works
# as it is after a plain `make install`; another PREFIX is put in here.
UNIT_SED = -e 's|/usr/local/sbin|$(SBINDIR)|g' \
           -e 's|/usr/local/etc|$(SYSCONFDIR)|g' \
           -e 's|/usr/local/share/doc/painpath|$(DOCDIR)|g'
CONF_SED = -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@DATADIR@|$(DATADIR)|g'
CONF_DIR = $(DESTDIR)$(SYSCONFDIR)/painpath

install-dirs:
	@echo "BINDIR=$(BINDIR) SBINDIR=$(SBINDIR) DATADIR=$(DATADIR)"
	@echo "MANDIR=$(MANDIR) SYSCONFDIR=$(SYSCONFDIR) UNITDIR=$(UNITDIR)"

install:
	$(MAKE) BUILD=$(INSTALL_BUILD) INSTALLED=1 all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
	  $(DESTDIR)$(DATADIR)/schema $(DESTDIR)$(DATADIR)/models \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR) \
	  $(DESTDIR)$(UNITDIR) $(CONF_DIR)/models
	install -m 0755 $(INSTALL_BUILD)/painpathd $(DESTDIR)$(SBINDIR)/painpathd
	install -m 0755 $(INSTALL_BUILD)/painpath $(DESTDIR)$(BINDIR)/painpath
	install -m 0644 schema/*.sql $(DESTDIR)$(DATADIR)/schema/
	install -m 0644 config/models/*.json $(DESTDIR)$(DATADIR)/models/
	cd web && find . -type d -exec install -d $(DESTDIR)$(DATADIR)/web/{} \; \
	  && find . -type f -exec install -m 0644 {} $(DESTDIR)$(DATADIR)/web/{} \;
	install -m 0644 man/painpath.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/painpath.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/painpathd.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 README $(DESTDIR)$(DOCDIR)/
	sed $(UNIT_SED) contrib/painpathd.service > $(DESTDIR)$(UNITDIR)/painpathd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/painpathd.service
	sed $(CONF_SED) contrib/painpath.conf.in > $(CONF_DIR)/painpath.conf.example
	@if [ ! -e $(CONF_DIR)/painpath.conf ]; then \
	  install -m 0644 $(CONF_DIR)/painpath.conf.example $(CONF_DIR)/painpath.conf; \
	else echo "install: keeping $(CONF_DIR)/painpath.conf"; fi
	@for m in config/models/*.json; do \
	  t=$(CONF_DIR)/models/$${m##*/}; \
	  [ -e "$$t" ] || install -m 0644 "$$m" "$$t"; done

# The configuration under SYSCONFDIR is the operator's: it stays.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/painpathd $(DESTDIR)$(BINDIR)/painpath \
	  $(DESTDIR)$(MANDIR)/man1/painpath.1 $(DESTDIR)$(MANDIR)/man5/painpath.conf.5 \
	  $(DESTDIR)$(MANDIR)/man8/painpathd.8 $(DESTDIR)$(UNITDIR)/painpathd.service
	rm -rf $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR)

# Installs into a temporary directory and runs what was installed.
install-check: all
	@BUILD=$(BUILD) VERSION='$(VERSION)' MAKE='$(MAKE)' test/install-check.sh

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
