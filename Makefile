# megamarket: one PGXS extension, one shared library.
#
#   make && make install        build and install (PG_CONFIG selects the server)
#   scripts/test                everything: dependencies, build, pg_regress + TAP
#   make installcheck           the tests alone, against the installed build
#                               (starts its own instance; run as a non-root user)

EXTENSION  = megamarket
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = megamarket

# Module sources. Each module keeps its C and its SQL side by side in src/<module>/.
OBJS = \
	src/megamarket.o \
	src/xlsx/zip.o src/xlsx/workbook.o src/xlsx/sheet.o src/xlsx/xmlscan.o src/xlsx/format.o \
	src/xlsx/open.o src/xlsx/options.o src/xlsx/cells.o src/xlsx/fdw.o src/xlsx/import.o \
	src/warehouse/import.o \
	src/chain/common.o src/chain/keccak.o src/chain/rlp.o src/chain/abi.o src/chain/tx.o \
	src/chain/rpc.o src/chain/chain_pg.o \
	src/loyalty/loyalty.o src/loyalty/dispatcher.o src/loyalty/worker.o src/loyalty/sql.o \
	src/warehouse/live.o \
	src/campaigns/webhook.o \
	src/mining/mining.o src/mining/mining_pg.o src/mining/profile.o \
	src/mining/kmeans.o src/mining/kmeans_pg.o \
	src/mining/apriori.o src/mining/apriori_pg.o \
	src/mining/nnar.o src/mining/nnar_pg.o \
	src/mining/arima.o src/mining/arima_pg.o

# PGXS tracks no header dependencies (unless PostgreSQL was configured with
# --enable-depend): rebuild every object when any of the tree's headers changes,
# so that no object keeps an old struct layout.
$(OBJS): $(wildcard src/*.h src/*/*.h)

# The install script is joined from the module SQL in this order (dependencies first).
SQL_PARTS = \
	src/megamarket.sql \
	src/warehouse/definitions.sql \
	src/warehouse/warehouse.sql \
	src/warehouse/partition.sql \
	src/xlsx/xlsx.sql \
	src/warehouse/import.sql \
	src/mining/mining.sql \
	src/mining/kmeans.sql \
	src/mining/apriori.sql \
	src/mining/arima.sql \
	src/mining/nnar.sql \
	src/chain/chain.sql \
	src/loyalty/loyalty.sql \
	src/loyalty/contract.sql \
	src/loyalty/web.sql \
	src/warehouse/live.sql \
	src/warehouse/bi.sql \
	src/campaigns/campaigns.sql

DATA_built = $(EXTENSION)--$(EXTVERSION).sql
DATA = $(wildcard $(EXTENSION)--*--*.sql)

# pg_regress: one file per feature. The instance preloads megamarket and pg_cron.
REGRESS = extension warehouse_schema warehouse_constraints fill_dates xlsx_options xlsx_read \
	import \
	xlsx_values \
	chain \
	mining \
	kmeans \
	apriori \
	arima \
	nnar \
	loyalty
REGRESS_OPTS = --temp-instance=tmp_check --temp-config=test/regress.conf \
	--inputdir=. --outputdir=.
TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

LIBS_PC = libsecp256k1 libcurl gsl libzip zlib expat

PG_CONFIG ?= pg_config
PKG_CONFIG ?= pkg-config
PG_CPPFLAGS = -I$(srcdir)/src $(shell $(PKG_CONFIG) --cflags $(LIBS_PC))
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter $(if $(WERROR),-Werror) \
	$(if $(ASSERTS),-DUSE_ASSERT_CHECKING)
SHLIB_LINK = $(shell $(PKG_CONFIG) --libs $(LIBS_PC))

EXTRA_CLEAN = src/loyalty/contract.sql $(DATA_built) tmp_check results regression.diffs regression.out log .build-flags

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS) $(EXTENSION).control
	cat $(SQL_PARTS) > $@

# The contract's creation bytecode, from the committed solc-js artifact.
src/loyalty/contract.sql: contracts/MegaMarketLoyalty.json src/loyalty/contract.pl
	perl src/loyalty/contract.pl $< > $@

# Rebuild when the flags change (ASSERTS=1 for scripts/test, none for
# bench/xlsx, another PG_CONFIG): the objects depend on a stamp of them.
BUILD_FLAGS = $(PG_CONFIG) $(PG_CPPFLAGS) $(PG_CFLAGS)
.build-flags: FORCE
	@echo '$(BUILD_FLAGS)' | cmp -s - $@ || echo '$(BUILD_FLAGS)' > $@
$(OBJS) $(OBJS:.o=.bc): .build-flags
.PHONY: FORCE

.PHONY: demo test
demo:
	scripts/demo
test:
	scripts/test
