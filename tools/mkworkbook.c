/*-------------------------------------------------------------------------
 *
 * mkworkbook.c
 *	  The MegaMarket demo and test workbook generator.
 *
 *	  mkworkbook [--seed S] [--scale small|medium|large | --sales-lines N]
 *				 [--lang es|en] [--clean] OUT.xlsx MANIFEST.json
 *
 * Writes the chain's workbook as the branches keep it in Excel (sheets
 * Sucursales, Productos, Clientes, Campañas, Ventas, Pérdidas, or their
 * English names) and a JSON manifest of what a correct import must produce:
 * row counts per warehouse table, sums per store, month and loss reason,
 * every planted piece of dirt with its expected outcome, and the planted
 * truth the analytics should recover (demand model, campaign uplifts,
 * customer groups, association rules, loss shares).
 *
 * Everything is drawn from seeded splitmix64 streams, so one seed gives the
 * same bytes on every run.  Counts and sums are accumulated while rows are
 * written, in integer cents, so the manifest describes exactly the file.
 *
 * Rejected dirt is always an extra row (a fresh ticket number or loss
 * reference) or an exact duplicate: the accepted rows are then exactly the
 * modelled data, and the planted truth needs no correction for rejects.
 *
 * tools/mkworkbook.c
 *
 *-------------------------------------------------------------------------
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlsxwriter.h"

#include "gencommon.h"
#include "jsonw.h"

#define MKWB_VERSION		"1.0.0"
#define MKWB_MAX_LINES		1000000
#define MKWB_MAX_QUANTITY	12		/* sales quantities are 1..12 */
#define MKWB_MAX_LOSS_QTY	20
#define MKWB_MONTHS			24
#define MKWB_NSTORES		3
#define MKWB_NCATEGORIES	10
#define MKWB_NDEPARTMENTS	4
#define MKWB_NGROUPS		4
#define MKWB_NCAMPAIGNS		8
#define MKWB_NREASONS		4
#define MKWB_NRULES			5
#define MKWB_MAX_BASKET		40
#define MKWB_P_ANONYMOUS	0.35
#define MKWB_ANON_LINES		3.0

/* Sheets, in the order they are written */
enum
{
	SH_STORES,
	SH_PRODUCTS,
	SH_CUSTOMERS,
	SH_CAMPAIGNS,
	SH_SALES,
	SH_LOSSES,
	SH_COUNT
};

typedef struct SheetDef
{
	const char *key;			/* manifest key */
	const char *name[2];		/* es, en */
	int			ncols;
	const char *cols[2][9];
} SheetDef;

static const SheetDef sheet_defs[SH_COUNT] = {
	{"stores", {"Sucursales", "Stores"}, 6,
		{{"Código", "Sucursal", "Ciudad", "Región", "Dirección", "Apertura"},
		{"Code", "Store", "City", "Region", "Address", "Opened"}}},
	{"products", {"Productos", "Products"}, 5,
		{{"SKU", "Producto", "Categoría", "Departamento", "Precio"},
		{"SKU", "Product", "Category", "Department", "Price"}}},
	{"customers", {"Clientes", "Customers"}, 5,
		{{"Código", "Nombre", "Email", "Segmento", "Wallet"},
		{"Code", "Name", "Email", "Segment", "Wallet"}}},
	{"campaigns", {"Campañas", "Campaigns"}, 7,
		{{"Código", "Campaña", "Canal", "Segmento objetivo", "Inicio", "Fin", "Presupuesto"},
		{"Code", "Campaign", "Channel", "Target segment", "Start", "End", "Budget"}}},
	{"sales", {"Ventas", "Sales"}, 9,
		{{"Ticket", "Línea", "Fecha", "Sucursal", "Cliente", "SKU", "Cantidad", "Importe", "Campaña"},
		{"Ticket", "Line", "Date", "Store", "Customer", "SKU", "Quantity", "Amount", "Campaign"}}},
	{"losses", {"Pérdidas", "Losses"}, 7,
		{{"Referencia", "Fecha", "Sucursal", "SKU", "Motivo", "Cantidad", "Importe"},
		{"Reference", "Date", "Store", "SKU", "Reason", "Quantity", "Amount"}}},
};

/* Column numbers of the sales and losses sheets */
enum
{
	VC_TICKET, VC_LINE, VC_DATE, VC_STORE, VC_CUSTOMER, VC_SKU, VC_QTY, VC_AMOUNT, VC_CAMPAIGN
};
enum
{
	LC_REF, LC_DATE, LC_STORE, LC_SKU, LC_REASON, LC_QTY, LC_AMOUNT
};
enum
{
	CC_CODE, CC_NAME, CC_EMAIL, CC_SEGMENT, CC_WALLET
};

/* Kinds of dirt; from DK_DUPLICATE_ROW on the outcome is a reject */
typedef enum DirtKind
{
	DK_NONE = -1,
	DK_BLANK_ROW = 0,
	DK_WHITESPACE,
	DK_EMAIL_CASE,
	DK_BAD_EMAIL,
	DK_WALLET_CASE,
	DK_TEXT_DATE,
	DK_DECIMAL_COMMA,
	DK_STORE_NAME,
	DK_NUMBER_AS_TEXT,
	DK_DUPLICATE_ROW,
	DK_MISSING_REQUIRED,
	DK_UNKNOWN_STORE,
	DK_UNKNOWN_PRODUCT,
	DK_UNKNOWN_CUSTOMER,
	DK_UNKNOWN_CAMPAIGN,
	DK_BAD_DATE,
	DK_BAD_NUMBER,
	DK_NEGATIVE_QUANTITY,
	DK_COUNT
} DirtKind;

static const char *const dirt_names[DK_COUNT] = {
	"blank_row", "whitespace", "email_case", "bad_email", "wallet_case",
	"text_date", "decimal_comma", "store_name", "number_as_text",
	"duplicate_row", "missing_required", "unknown_store", "unknown_product",
	"unknown_customer", "unknown_campaign", "bad_date", "bad_number",
	"negative_quantity"
};

#define DIRT_IS_REJECT(k) ((k) >= DK_DUPLICATE_ROW)

/* One planted instance, kept until the manifest is written */
typedef struct Dirt
{
	DirtKind	kind;
	int			sheet;
	long		row;			/* 1-based, as Excel shows it */
	int			col;			/* -1: the whole row */
	int			raw_type;		/* 0 null, 1 text, 2 number */
	char	   *raw_text;
	double		raw_num;
	char	   *value;			/* cleaned value; NULL is JSON null */
	long		dup_of;			/* duplicate_row: the row it repeats */
} Dirt;

/* A planned piece of dirt: apply kind at record number pos */
typedef struct Plan
{
	long		pos;
	DirtKind	kind;
	int			variant;
} Plan;

typedef struct PlanList
{
	Plan	   *items;
	int			n;
	int			next;
} PlanList;

/* Reference data ------------------------------------------------------------ */

typedef struct StoreDef
{
	const char *code;
	const char *name;
	const char *city;
	const char *region;
	const char *address;
	int			opened[3];
	double		level;			/* relative tickets per day */
	double		trend;			/* relative change per year */
} StoreDef;

static const StoreDef stores[MKWB_NSTORES] = {
	{"NORTE", "Norte", "Santander", "Cantabria", "Calle de Burgos 12", {2009, 4, 15}, 1.00, 0.10},
	{"CENTRO", "Centro", "Madrid", "Comunidad de Madrid", "Calle de Alcalá 210", {2005, 9, 1}, 1.35, 0.04},
	{"SUR", "Sur", "Sevilla", "Andalucía", "Avenida de la Constitución 48", {2012, 3, 20}, 0.80, -0.06},
};

static const char *const departments[MKWB_NDEPARTMENTS] = {
	"Alimentación", "Bebidas", "Droguería", "Hogar"
};

typedef struct CategoryDef
{
	const char *prefix;
	const char *name;
	int			department;
	double		weight;			/* how often a basket line is from here */
	int			price_lo;		/* cents */
	int			price_hi;
	const char *items[8];
} CategoryDef;

static const CategoryDef categories[MKWB_NCATEGORIES] = {
	{"PAN", "Panadería", 0, 1.4, 50, 300,
	{"Barra de pan", "Pan de molde", "Croissants", "Magdalenas", "Pan integral", "Tostadas", "Bollos de leche", "Pan de centeno"}},
	{"LAC", "Lácteos y huevos", 0, 1.4, 60, 500,
	{"Leche entera", "Yogur natural", "Mantequilla", "Queso rallado", "Queso fresco", "Nata", "Huevos", "Leche desnatada"}},
	{"FRU", "Frutas y verduras", 0, 1.3, 80, 400,
	{"Plátanos", "Manzanas", "Tomates", "Naranjas", "Patatas", "Lechugas", "Cebollas", "Fresas"}},
	{"CAR", "Carnes y pescados", 0, 1.0, 300, 1500,
	{"Pechuga de pollo", "Carne picada", "Lomo de cerdo", "Merluza", "Salmón", "Chuletas de cordero", "Jamón serrano", "Chorizo"}},
	{"DES", "Despensa", 0, 1.3, 60, 600,
	{"Espaguetis", "Tomate frito", "Arroz", "Aceite de oliva", "Patatas fritas", "Lentejas", "Atún en lata", "Galletas"}},
	{"REF", "Refrescos y aguas", 1, 1.0, 40, 300,
	{"Refresco de cola", "Agua mineral", "Zumo de naranja", "Refresco de limón", "Tónica", "Agua con gas", "Bebida isotónica", "Horchata"}},
	{"VIN", "Vinos y cervezas", 1, 0.7, 150, 1500,
	{"Vino tinto", "Cerveza", "Vino blanco", "Cava", "Sidra", "Vino rosado", "Cerveza sin alcohol", "Vermut"}},
	{"LIM", "Limpieza", 2, 0.6, 100, 800,
	{"Detergente", "Lavavajillas", "Lejía", "Suavizante", "Limpiacristales", "Estropajos", "Bolsas de basura", "Friegasuelos"}},
	{"HIG", "Higiene personal", 2, 0.6, 100, 900,
	{"Gel de ducha", "Champú", "Pasta de dientes", "Desodorante", "Papel higiénico", "Pañuelos", "Jabón de manos", "Crema hidratante"}},
	{"MEN", "Menaje y bazar", 3, 0.4, 100, 1200,
	{"Servilletas", "Papel de aluminio", "Film transparente", "Velas", "Pilas", "Bombillas", "Vasos", "Platos"}},
};

static const char *const variants[] = {
	"", " Marca blanca", " Premium", " Ecológico", " Familiar", " Oferta"
};

typedef struct GroupDef
{
	const char *key;
	const char *description;
	double		share;			/* of customers */
	double		visit_weight;	/* relative visits per customer */
	double		mean_lines;		/* lines per ticket */
	int			churns;			/* stops buying at a date in the window */
} GroupDef;

static const GroupDef groups[MKWB_NGROUPS] = {
	{"familias", "loyal families: frequent visits, large baskets, still active", 0.20, 4.0, 9.0, 0},
	{"diarios", "daily shoppers: very frequent visits, 1-3 lines per ticket, still active", 0.20, 7.0, 2.0, 0},
	{"ocasionales", "occasional: rare visits, medium baskets, still active", 0.40, 0.7, 4.0, 0},
	{"perdidos", "lapsed: frequent visits until a date in 2023-07..2024-04, none after (high recency)", 0.20, 3.0, 5.0, 1},
};

typedef struct CampaignDef
{
	const char *code;
	const char *name;
	const char *channel;
	const char *target;			/* "" for everyone */
	int			start[3];
	int			end[3];
	double		uplift;
	int64_t		budget_cents;
} CampaignDef;

static const CampaignDef campaigns[MKWB_NCAMPAIGNS] = {
	{"CMP-01", "Rebajas de invierno", "Email", "", {2023, 1, 9}, {2023, 1, 22}, 1.25, 300000},
	{"CMP-02", "Semana Santa", "Redes sociales", "Familias", {2023, 4, 1}, {2023, 4, 9}, 1.30, 450000},
	{"CMP-03", "Vuelta al cole", "Prensa", "Familias", {2023, 9, 1}, {2023, 9, 14}, 1.35, 600000},
	{"CMP-04", "Black Friday", "Redes sociales", "Jóvenes", {2023, 11, 20}, {2023, 11, 26}, 1.50, 800000},
	{"CMP-05", "Rebajas de invierno 2024", "Email", "", {2024, 1, 8}, {2024, 1, 21}, 1.25, 320000},
	{"CMP-06", "Verano fresco", "SMS", "Jóvenes", {2024, 7, 1}, {2024, 7, 14}, 1.40, 500000},
	{"CMP-07", "Club VIP", "Email", "VIP", {2024, 10, 1}, {2024, 10, 10}, 1.20, 250000},
	{"CMP-08", "Black Friday 2024", "Redes sociales", "", {2024, 11, 25}, {2024, 12, 1}, 1.50, 900000},
};

static const char *const reasons[MKWB_NREASONS] = {
	"Caducidad", "Robo", "Daño", "Error administrativo"
};
static const double reason_shares[MKWB_NREASONS] = {0.45, 0.25, 0.20, 0.10};

/* ISO weekday 1..7 (index 0 unused), mean 1 */
static const double weekly[8] = {0, 0.85, 0.85, 0.90, 0.95, 1.10, 1.40, 0.95};
static const char *const weekday_keys[8] = {"", "mon", "tue", "wed", "thu", "fri", "sat", "sun"};
/* January .. December */
static const double monthly[12] = {0.95, 0.92, 0.97, 1.00, 1.00, 0.95, 0.85, 0.80, 0.97, 1.00, 1.05, 1.40};

typedef struct RuleDef
{
	const char *antecedent[2];	/* NULL-terminated if only one */
	const char *consequent;
	double		probability;	/* P(add consequent | antecedent in basket) */
} RuleDef;

/* Applied in this order, so rule 2 can complete the triple of rule 3 */
static const RuleDef rules[MKWB_NRULES] = {
	{{"PAN-001", NULL}, "LAC-001", 0.60},
	{{"DES-001", NULL}, "DES-002", 0.50},
	{{"DES-001", "DES-002"}, "LAC-004", 0.70},
	{{"REF-001", NULL}, "DES-005", 0.45},
	{{"CAR-001", NULL}, "VIN-001", 0.40},
};

static const char *const first_names[][2] = {
	{"Lucía", "lucia"}, {"Hugo", "hugo"}, {"María", "maria"}, {"Martín", "martin"},
	{"Paula", "paula"}, {"Daniel", "daniel"}, {"Sofía", "sofia"}, {"Pablo", "pablo"},
	{"Carmen", "carmen"}, {"Álvaro", "alvaro"}, {"Julia", "julia"}, {"Javier", "javier"},
	{"Elena", "elena"}, {"Adrián", "adrian"}, {"Laura", "laura"}, {"José", "jose"},
	{"Ana", "ana"}, {"Manuel", "manuel"}, {"Marta", "marta"}, {"Sergio", "sergio"},
	{"Irene", "irene"}, {"Diego", "diego"}, {"Nerea", "nerea"}, {"Íñigo", "inigo"},
};
static const char *const surnames[][2] = {
	{"García", "garcia"}, {"Fernández", "fernandez"}, {"González", "gonzalez"},
	{"Rodríguez", "rodriguez"}, {"López", "lopez"}, {"Martínez", "martinez"},
	{"Sánchez", "sanchez"}, {"Pérez", "perez"}, {"Gómez", "gomez"}, {"Martín", "martin"},
	{"Jiménez", "jimenez"}, {"Ruiz", "ruiz"}, {"Hernández", "hernandez"}, {"Díaz", "diaz"},
	{"Moreno", "moreno"}, {"Muñoz", "munoz"}, {"Álvarez", "alvarez"}, {"Romero", "romero"},
	{"Castaño", "castano"}, {"Ibáñez", "ibanez"},
};
static const char *const mail_domains[] = {
	"gmail.com", "hotmail.com", "yahoo.es", "outlook.es", "telefonica.net"
};
static const char *const customer_segments[] = {"VIP", "Empleados", "Nuevos"};

#define NELEM(a) ((int) (sizeof(a) / sizeof((a)[0])))

/* Generated data --------------------------------------------------------------- */

typedef struct Product
{
	char		sku[16];
	char		name[80];
	int			category;
	int64_t		price_cents;
	int64_t		cost_cents;
} Product;

typedef struct Customer
{
	char		code[12];
	int			group;
	int32_t		churn_day;		/* last day it may buy; INT32_MAX if never */
	int			first, last;	/* names */
	long		tickets;
	long		lines;
	int64_t		cents;
	int32_t		last_day;		/* -1: never bought */
	int			written_email;	/* accepted e-mail after cleaning */
	int			written_wallet;
} Customer;

/* A sales line with clean values */
typedef struct SaleLine
{
	long		ticket;
	int			line;
	int32_t		day;
	int			store;
	int			customer;		/* -1 anonymous */
	int			product;
	int			quantity;
	int64_t		cents;
	int			campaign;		/* -1 none */
} SaleLine;

typedef struct Totals
{
	long		count;
	long		quantity;
	int64_t		cents;
} Totals;

/* Everything the generator keeps */
typedef struct Gen
{
	/* options */
	uint64_t	seed;
	const char *scale;
	int			lang;			/* 0 es, 1 en */
	int			clean;
	long		target_lines;
	int			ncustomers_target;
	int			per_category;
	int			dirt_per_kind;
	int			constant_memory;

	/* random streams, one per concern so that they do not disturb each other */
	GenRng		rng_products;
	GenRng		rng_customers;
	GenRng		rng_sales;
	GenRng		rng_losses;
	GenRng		rng_dirt;

	/* workbook */
	lxw_workbook *wb;
	lxw_worksheet *ws[SH_COUNT];
	lxw_row_t	row[SH_COUNT];	/* next 0-based row to write */
	lxw_format *fmt_header;
	lxw_format *fmt_date;
	lxw_format *fmt_money;
	lxw_format *fmt_blank;

	/* reference data */
	Product    *products;
	int			nproducts;
	double	   *product_cum;
	Customer   *customers;
	int			ncustomers;
	double	   *customer_cum;
	int32_t		first_day;
	int32_t		ndays;
	int		   *campaign_of_day;
	int32_t		campaign_start[MKWB_NCAMPAIGNS];
	int32_t		campaign_end[MKWB_NCAMPAIGNS];
	int			rule_ante[MKWB_NRULES][2];	/* product indexes, -1 unused */
	int			rule_cons[MKWB_NRULES];
	double		level_scale;	/* tickets per store-day at relative level 1 */

	/* dirt */
	Dirt	   *dirt;
	int			ndirt;
	int			dirt_cap;

	/* accumulators of accepted rows */
	Totals		sales_total;
	Totals		sales_store[MKWB_NSTORES];
	Totals		sales_month[MKWB_MONTHS];
	Totals		loss_total;
	Totals		loss_reason[MKWB_NREASONS];
	long		tickets;
	long		sales_rows_written;
	long		losses_rows_written;
	unsigned char *sale_days;
	unsigned char *loss_days;
	long		rule_ante_count[MKWB_NRULES];
	long		rule_both_count[MKWB_NRULES];
	long		rule_cons_count[MKWB_NRULES];
	long		camp_window_tickets[MKWB_NCAMPAIGNS];
	long		camp_tickets[MKWB_NCAMPAIGNS];
	Totals		camp_lines[MKWB_NCAMPAIGNS];
	long		anon_tickets;
	int			segment_used[NELEM(customer_segments) + 3];
	long		customers_with_email;
	long		customers_with_wallet;
	long		next_ticket;
	long		next_loss_ref;
} Gen;

/* Small utilities ------------------------------------------------------------ */

/*
 * die
 *		Report a fatal problem and exit.
 */
static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "mkworkbook: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	exit(1);
}

/*
 * xmalloc
 *		malloc or die; memory is zeroed.
 */
static void *
xmalloc(size_t size)
{
	void	   *p = calloc(1, size ? size : 1);

	if (p == NULL)
		die("out of memory", NULL);
	return p;
}

/*
 * xstrdup
 *		strdup or die; NULL stays NULL.
 */
static char *
xstrdup(const char *s)
{
	char	   *p;

	if (s == NULL)
		return NULL;
	p = strdup(s);
	if (p == NULL)
		die("out of memory", NULL);
	return p;
}

/*
 * ok
 *		Exit if a libxlsxwriter call failed.
 */
static void
ok(lxw_error err)
{
	if (err != LXW_NO_ERROR)
		die("libxlsxwriter", lxw_strerror(err));
}

/*
 * pick_cum
 *		Index drawn from a cumulative weight array of n entries.
 */
static int
pick_cum(GenRng *rng, const double *cum, int n)
{
	double		u = GenRngUniform(rng) * cum[n - 1];
	int			lo = 0,
				hi = n - 1;

	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (cum[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/*
 * draw_quantity
 *		Units on a sales line: mostly 1, a long thin tail up to 12.
 */
static int
draw_quantity(GenRng *rng)
{
	double		u = GenRngUniform(rng);

	if (u < 0.65)
		return 1;
	if (u < 0.85)
		return 2;
	if (u < 0.93)
		return 3;
	if (u < 0.98)
		return GenRngRange(rng, 4, 6);
	return GenRngRange(rng, 7, MKWB_MAX_QUANTITY);
}

/*
 * month_index
 *		0..23 for a day of 2023-2024.
 */
static int
month_index(int32_t day)
{
	int			y,
				m,
				d;

	GenCivilFromDays(day, &y, &m, &d);
	return (y - 2023) * 12 + (m - 1);
}

/*
 * totals_add
 *		Count one accepted row.
 */
static void
totals_add(Totals *t, long quantity, int64_t cents)
{
	t->count++;
	t->quantity += quantity;
	t->cents += cents;
}

/*
 * exact_multiples
 *		Whether q * cents prints exactly for every q in 1..maxq.
 */
static int
exact_multiples(int64_t cents, int maxq)
{
	int			q;

	for (q = 1; q <= maxq; q++)
		if (!GenCentsExact(cents * q))
			return 0;
	return 1;
}

/* Dirt bookkeeping ------------------------------------------------------------- */

/*
 * add_dirt
 *		Remember one planted instance for the manifest.  row is 0-based here
 *		and stored 1-based; raw_text NULL with raw_type 1 is not allowed.
 */
static Dirt *
add_dirt(Gen *g, DirtKind kind, int sheet, lxw_row_t row, int col,
		 const char *raw_text, const char *value)
{
	Dirt	   *d;

	if (g->ndirt == g->dirt_cap)
	{
		g->dirt_cap = g->dirt_cap ? g->dirt_cap * 2 : 256;
		g->dirt = realloc(g->dirt, sizeof(Dirt) * (size_t) g->dirt_cap);
		if (g->dirt == NULL)
			die("out of memory", NULL);
	}
	d = &g->dirt[g->ndirt++];
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	d->sheet = sheet;
	d->row = (long) row + 1;
	d->col = col;
	d->raw_type = raw_text ? 1 : 0;
	d->raw_text = xstrdup(raw_text);
	d->value = xstrdup(value);
	return d;
}

/*
 * add_dirt_num
 *		As add_dirt, for a raw value that was written as a number cell.
 */
static Dirt *
add_dirt_num(Gen *g, DirtKind kind, int sheet, lxw_row_t row, int col, double raw)
{
	Dirt	   *d = add_dirt(g, kind, sheet, row, col, NULL, NULL);

	d->raw_type = 2;
	d->raw_num = raw;
	return d;
}

/*
 * plan_cmp
 *		qsort order of plans: by position.
 */
static int
plan_cmp(const void *a, const void *b)
{
	const Plan *pa = a;
	const Plan *pb = b;

	return (pa->pos > pb->pos) - (pa->pos < pb->pos);
}

/*
 * make_plan
 *		Choose distinct record positions in [lo, hi) for count instances of
 *		each of the given kinds, sorted by position.  With --clean the plan is
 *		empty.
 */
static void
make_plan(Gen *g, PlanList *pl, const DirtKind *kinds, int nkinds, int count,
		  long lo, long hi)
{
	int			total = nkinds * count;
	int			i,
				j;

	memset(pl, 0, sizeof(*pl));
	if (g->clean || total == 0)
		return;
	if (hi - lo < (long) total * 2)
		die("too few records to plant the dirt in", NULL);
	pl->items = xmalloc(sizeof(Plan) * (size_t) total);
	for (i = 0; i < total; i++)
	{
		long		pos;
		int			clash;

		do
		{
			pos = lo + (long) (GenRngNext(&g->rng_dirt) % (uint64_t) (hi - lo));
			clash = 0;
			for (j = 0; j < i; j++)
				if (pl->items[j].pos == pos)
					clash = 1;
		} while (clash);
		pl->items[i].pos = pos;
		pl->items[i].kind = kinds[i % nkinds];
		pl->items[i].variant = i / nkinds;
	}
	pl->n = total;
	qsort(pl->items, (size_t) total, sizeof(Plan), plan_cmp);
}

/*
 * plan_at
 *		The plan for record pos, or NULL; advances past it.
 */
static const Plan *
plan_at(PlanList *pl, long pos)
{
	if (pl->next < pl->n && pl->items[pl->next].pos == pos)
		return &pl->items[pl->next++];
	return NULL;
}

/* Cell writers ------------------------------------------------------------------ */

/*
 * put_text
 *		A text cell in the sheet's current row; NULL leaves the cell absent.
 */
static void
put_text(Gen *g, int sheet, int col, const char *s)
{
	if (s != NULL)
		ok(worksheet_write_string(g->ws[sheet], g->row[sheet], (lxw_col_t) col, s, NULL));
}

/*
 * put_num
 *		A plain number cell.
 */
static void
put_num(Gen *g, int sheet, int col, double v)
{
	ok(worksheet_write_number(g->ws[sheet], g->row[sheet], (lxw_col_t) col, v, NULL));
}

/*
 * put_date
 *		A date cell: the Excel serial with the dd/mm/yyyy format.
 */
static void
put_date(Gen *g, int sheet, int col, int32_t day)
{
	ok(worksheet_write_number(g->ws[sheet], g->row[sheet], (lxw_col_t) col,
							  GenExcelSerial(day), g->fmt_date));
}

/*
 * put_money
 *		An amount cell, refusing (as a generator bug) an amount whose double
 *		would not print as its exact two-decimal text.
 */
static void
put_money(Gen *g, int sheet, int col, int64_t cents)
{
	if (!GenCentsExact(cents))
		die("internal error: an amount would not print exactly", NULL);
	ok(worksheet_write_number(g->ws[sheet], g->row[sheet], (lxw_col_t) col,
							  (double) cents / 100.0, g->fmt_money));
}

/*
 * put_blank_row
 *		A blank row: either nothing at all (a gap in the row numbers) or, as
 *		Excel leaves behind after a deletion, cells with a format and no
 *		value.  Recorded as dirt that is "cleaned" away.
 */
static void
put_blank_row(Gen *g, int sheet, int variant)
{
	int			c;

	if (variant % 2 == 1)
		for (c = 0; c < sheet_defs[sheet].ncols; c++)
			ok(worksheet_write_blank(g->ws[sheet], g->row[sheet], (lxw_col_t) c, g->fmt_blank));
	add_dirt(g, DK_BLANK_ROW, sheet, g->row[sheet], -1, NULL, NULL);
	g->row[sheet]++;
}

/*
 * write_header
 *		Row 1 of a sheet: the column names, bold, frozen.
 */
static void
write_header(Gen *g, int sheet)
{
	int			c;

	for (c = 0; c < sheet_defs[sheet].ncols; c++)
	{
		ok(worksheet_write_string(g->ws[sheet], 0, (lxw_col_t) c,
								  sheet_defs[sheet].cols[g->lang][c], g->fmt_header));
		ok(worksheet_set_column(g->ws[sheet], (lxw_col_t) c, (lxw_col_t) c, c == 1 ? 28 : 14, NULL));
	}
	worksheet_freeze_panes(g->ws[sheet], 1, 0);
	g->row[sheet] = 1;
}

/*
 * store_variant
 *		A store name as a hurried clerk types it: " norte ", "SUR", "Centro  ".
 */
static void
store_variant(int store, int variant, char *buf, size_t len)
{
	const char *name = stores[store].name;
	char		tmp[32];
	size_t		i;

	for (i = 0; name[i] && i < sizeof(tmp) - 1; i++)
	{
		char		ch = name[i];

		if (variant % 3 == 0 && ch >= 'A' && ch <= 'Z')
			ch = (char) (ch - 'A' + 'a');
		else if (variant % 3 == 1 && ch >= 'a' && ch <= 'z')
			ch = (char) (ch - 'a' + 'A');
		tmp[i] = ch;
	}
	tmp[i] = '\0';
	if (variant % 3 == 0)
		snprintf(buf, len, " %s ", tmp);
	else if (variant % 3 == 1)
		snprintf(buf, len, "%s", tmp);
	else
		snprintf(buf, len, "%s  ", tmp);
}

/* Reference sheets ------------------------------------------------------------ */

/*
 * write_stores
 *		The three branches, with one stray space planted in a city name.
 */
static void
write_stores(Gen *g)
{
	int			s;
	char		buf[64];

	write_header(g, SH_STORES);
	for (s = 0; s < MKWB_NSTORES; s++)
	{
		const StoreDef *st = &stores[s];

		put_text(g, SH_STORES, 0, st->code);
		put_text(g, SH_STORES, 1, st->name);
		if (s == 1 && !g->clean)
		{
			snprintf(buf, sizeof(buf), " %s ", st->city);
			put_text(g, SH_STORES, 2, buf);
			add_dirt(g, DK_WHITESPACE, SH_STORES, g->row[SH_STORES], 2, buf, st->city);
		}
		else
			put_text(g, SH_STORES, 2, st->city);
		put_text(g, SH_STORES, 3, st->region);
		put_text(g, SH_STORES, 4, st->address);
		put_date(g, SH_STORES, 5, GenDaysFromCivil(st->opened[0], st->opened[1], st->opened[2]));
		g->row[SH_STORES]++;
	}
}

/*
 * pow_rank
 *		Popularity divisor of the i-th (0-based) product of a category.
 */
static double
pow_rank(int i)
{
	return pow((double) (i + 1), 0.9);
}

/*
 * make_products
 *		per_category products in each category, prices drawn until every
 *		quantity of them prints exactly, popularity falling with the number
 *		within the category (a Zipf-like curve).
 */
static void
make_products(Gen *g)
{
	int			c,
				i,
				n = 0;
	double		acc = 0.0;

	g->nproducts = MKWB_NCATEGORIES * g->per_category;
	g->products = xmalloc(sizeof(Product) * (size_t) g->nproducts);
	g->product_cum = xmalloc(sizeof(double) * (size_t) g->nproducts);
	for (c = 0; c < MKWB_NCATEGORIES; c++)
	{
		const CategoryDef *cat = &categories[c];

		for (i = 0; i < g->per_category; i++)
		{
			Product    *p = &g->products[n];
			int			v = (i / 8) % NELEM(variants);

			snprintf(p->sku, sizeof(p->sku), "%s-%03d", cat->prefix, i + 1);
			snprintf(p->name, sizeof(p->name), "%s%s", cat->items[i % 8], variants[v]);
			if (i >= 8 * NELEM(variants))
				snprintf(p->name, sizeof(p->name), "%s %d", cat->items[i % 8], i + 1);
			p->category = c;
			do
			{
				p->price_cents = GenRngRange(&g->rng_products, cat->price_lo, cat->price_hi);
			} while (!exact_multiples(p->price_cents, MKWB_MAX_QUANTITY));
			/* cost about 60% of price, also exact for loss quantities */
			p->cost_cents = p->price_cents * 6 / 10;
			while (!exact_multiples(p->cost_cents, MKWB_MAX_LOSS_QTY))
				p->cost_cents++;
			acc += cat->weight / pow_rank(i);
			g->product_cum[n] = acc;
			n++;
		}
	}
}

/*
 * find_product
 *		Index of a SKU, or die: the planted rules name products that every
 *		scale has (at least 6 per category).
 */
static int
find_product(Gen *g, const char *sku)
{
	int			i;

	for (i = 0; i < g->nproducts; i++)
		if (strcmp(g->products[i].sku, sku) == 0)
			return i;
	die("internal error: unknown SKU in a planted rule", sku);
	return -1;
}

/*
 * write_products
 *		The product list; dirt: stray spaces in names, prices typed as text
 *		with a decimal comma.
 */
static void
write_products(Gen *g)
{
	static const DirtKind kinds[] = {DK_WHITESPACE, DK_DECIMAL_COMMA};
	PlanList	pl;
	int			i;
	int			count = g->dirt_per_kind < 3 ? g->dirt_per_kind : 3;
	char		buf[128];
	char		money[32];

	make_plan(g, &pl, kinds, NELEM(kinds), count, 0, g->nproducts);
	write_header(g, SH_PRODUCTS);
	for (i = 0; i < g->nproducts; i++)
	{
		const Product *p = &g->products[i];
		const Plan *plan = plan_at(&pl, i);
		lxw_row_t	row = g->row[SH_PRODUCTS];

		put_text(g, SH_PRODUCTS, 0, p->sku);
		if (plan && plan->kind == DK_WHITESPACE)
		{
			snprintf(buf, sizeof(buf), plan->variant % 2 ? "%s  " : "  %s", p->name);
			put_text(g, SH_PRODUCTS, 1, buf);
			add_dirt(g, DK_WHITESPACE, SH_PRODUCTS, row, 1, buf, p->name);
		}
		else
			put_text(g, SH_PRODUCTS, 1, p->name);
		put_text(g, SH_PRODUCTS, 2, categories[p->category].name);
		put_text(g, SH_PRODUCTS, 3, departments[categories[p->category].department]);
		if (plan && plan->kind == DK_DECIMAL_COMMA)
		{
			GenFormatCents(p->price_cents, buf, ',');
			GenFormatCents(p->price_cents, money, '.');
			put_text(g, SH_PRODUCTS, 4, buf);
			add_dirt(g, DK_DECIMAL_COMMA, SH_PRODUCTS, row, 4, buf, money);
		}
		else
			put_money(g, SH_PRODUCTS, 4, p->price_cents);
		g->row[SH_PRODUCTS]++;
	}
	free(pl.items);
}

/*
 * make_customers
 *		Customers, each in one behaviour group (shares as in groups[]); a
 *		lapsed customer's last possible purchase day is drawn uniformly in
 *		2023-07-01..2024-04-30.  Ticket draws weigh customers by their group's
 *		visit weight (customer_cum).
 */
static void
make_customers(Gen *g)
{
	int			i;
	double		acc = 0.0;
	int32_t		churn_lo = GenDaysFromCivil(2023, 7, 1);
	int32_t		churn_hi = GenDaysFromCivil(2024, 4, 30);

	g->ncustomers = g->ncustomers_target;
	g->customers = xmalloc(sizeof(Customer) * (size_t) g->ncustomers);
	g->customer_cum = xmalloc(sizeof(double) * (size_t) g->ncustomers);
	for (i = 0; i < g->ncustomers; i++)
	{
		Customer   *c = &g->customers[i];
		double		u = GenRngUniform(&g->rng_customers);
		double		s = 0.0;
		int			k;

		snprintf(c->code, sizeof(c->code), "C%05d", i + 1);
		c->group = MKWB_NGROUPS - 1;
		for (k = 0; k < MKWB_NGROUPS; k++)
		{
			s += groups[k].share;
			if (u < s)
			{
				c->group = k;
				break;
			}
		}
		c->churn_day = groups[c->group].churns
			? GenRngRange(&g->rng_customers, churn_lo, churn_hi) : INT32_MAX;
		c->first = GenRngRange(&g->rng_customers, 0, NELEM(first_names) - 1);
		c->last = GenRngRange(&g->rng_customers, 0, NELEM(surnames) - 1);
		c->last_day = -1;
		acc += groups[c->group].visit_weight;
		g->customer_cum[i] = acc;
	}
}

/*
 * make_email
 *		name.surnameNN@domain, all lower case ASCII.
 */
static void
make_email(Gen *g, int i, char *buf, size_t len)
{
	const Customer *c = &g->customers[i];

	snprintf(buf, len, "%s.%s%d@%s", first_names[c->first][1], surnames[c->last][1],
			 i % 100, mail_domains[i % NELEM(mail_domains)]);
}

/*
 * mixed_case_email
 *		The same address as people type it: capitals after dots, a shouting
 *		domain ("Lucia.Garcia7@GMAIL.COM").
 */
static void
mixed_case_email(const char *email, char *buf, size_t len)
{
	size_t		i;
	int			in_domain = 0;
	int			word_start = 1;

	for (i = 0; email[i] && i < len - 1; i++)
	{
		char		ch = email[i];

		if (ch == '@')
			in_domain = 1;
		if ((in_domain || word_start) && ch >= 'a' && ch <= 'z')
			ch = (char) (ch - 'a' + 'A');
		word_start = (ch == '.' && !in_domain);
		buf[i] = ch;
	}
	buf[i] = '\0';
}

/*
 * bad_email
 *		An address that no cleaning can save (variant picks the defect).
 */
static void
bad_email(const char *email, int variant, char *buf, size_t len)
{
	const char *at = strchr(email, '@');
	int			local = (int) (at - email);
	const char *dot = strrchr(email, '.');

	switch (variant % 4)
	{
		case 0:				/* no top-level domain */
			snprintf(buf, len, "%.*s", (int) (dot - email), email);
			break;
		case 1:				/* doubled @ */
			snprintf(buf, len, "%.*s@@%s", local, email, at + 1);
			break;
		case 2:				/* no @ at all */
			snprintf(buf, len, "%.*s.%s", local, email, at + 1);
			break;
		default:			/* a space inside */
			snprintf(buf, len, "%.*s %s", local / 2, email, email + local / 2);
			break;
	}
}

/*
 * write_customers
 *		The customer list.  Dirt: stray spaces in names, mixed-case and
 *		invalid e-mails, upper-case wallet addresses, blank rows, rows
 *		without a customer code (rejected: missing_required).
 */
static void
write_customers(Gen *g)
{
	static const DirtKind kinds[] = {DK_WHITESPACE, DK_EMAIL_CASE, DK_BAD_EMAIL,
	DK_WALLET_CASE, DK_BLANK_ROW, DK_MISSING_REQUIRED};
	PlanList	pl;
	int			i;

	make_plan(g, &pl, kinds, NELEM(kinds), g->dirt_per_kind, 0, g->ncustomers);
	write_header(g, SH_CUSTOMERS);
	for (i = 0; i < g->ncustomers; i++)
	{
		Customer   *c = &g->customers[i];
		const Plan *plan = plan_at(&pl, i);
		DirtKind	kind = plan ? plan->kind : DK_NONE;
		int			variant = plan ? plan->variant : 0;
		lxw_row_t	row = g->row[SH_CUSTOMERS];
		char		name[128];
		char		email[128];
		char		buf[160];
		int			has_email = GenRngChance(&g->rng_customers, 0.85);
		int			has_wallet = GenRngChance(&g->rng_customers, 0.25);
		int			segment = GenRngChance(&g->rng_customers, 0.10)
			? GenRngRange(&g->rng_customers, 0, NELEM(customer_segments) - 1) : -1;
		char		wallet[43];
		int			k;

		wallet[0] = '0';
		wallet[1] = 'x';
		for (k = 0; k < 40; k++)
			wallet[2 + k] = "0123456789abcdef"[GenRngNext(&g->rng_customers) & 15];
		wallet[42] = '\0';
		if (kind == DK_EMAIL_CASE || kind == DK_BAD_EMAIL)
			has_email = 1;
		if (kind == DK_WALLET_CASE)
			has_wallet = 1;

		snprintf(name, sizeof(name), "%s %s", first_names[c->first][0], surnames[c->last][0]);
		make_email(g, i, email, sizeof(email));

		put_text(g, SH_CUSTOMERS, CC_CODE, c->code);
		if (kind == DK_WHITESPACE)
		{
			snprintf(buf, sizeof(buf), variant % 2 ? "%s " : "  %s", name);
			put_text(g, SH_CUSTOMERS, CC_NAME, buf);
			add_dirt(g, kind, SH_CUSTOMERS, row, CC_NAME, buf, name);
		}
		else
			put_text(g, SH_CUSTOMERS, CC_NAME, name);

		if (has_email)
		{
			if (kind == DK_EMAIL_CASE)
			{
				mixed_case_email(email, buf, sizeof(buf));
				put_text(g, SH_CUSTOMERS, CC_EMAIL, buf);
				add_dirt(g, kind, SH_CUSTOMERS, row, CC_EMAIL, buf, email);
				g->customers_with_email++;
			}
			else if (kind == DK_BAD_EMAIL)
			{
				bad_email(email, variant, buf, sizeof(buf));
				put_text(g, SH_CUSTOMERS, CC_EMAIL, buf);
				/* the customer is kept, with no e-mail */
				add_dirt(g, kind, SH_CUSTOMERS, row, CC_EMAIL, buf, NULL);
			}
			else
			{
				put_text(g, SH_CUSTOMERS, CC_EMAIL, email);
				g->customers_with_email++;
			}
		}
		if (segment >= 0)
		{
			put_text(g, SH_CUSTOMERS, CC_SEGMENT, customer_segments[segment]);
			g->segment_used[segment] = 1;
		}
		if (has_wallet)
		{
			if (kind == DK_WALLET_CASE)
			{
				/* upper-case hex digits, as some wallets display them */
				for (k = 0; k < 42; k++)
					buf[k] = (k >= 2 && wallet[k] >= 'a') ? (char) (wallet[k] - 'a' + 'A') : wallet[k];
				buf[42] = '\0';
				put_text(g, SH_CUSTOMERS, CC_WALLET, buf);
				add_dirt(g, kind, SH_CUSTOMERS, row, CC_WALLET, buf, wallet);
			}
			else
				put_text(g, SH_CUSTOMERS, CC_WALLET, wallet);
			g->customers_with_wallet++;
		}
		g->row[SH_CUSTOMERS]++;

		if (kind == DK_BLANK_ROW)
			put_blank_row(g, SH_CUSTOMERS, variant);
		else if (kind == DK_MISSING_REQUIRED)
		{
			/* a half-typed customer: a name, no code */
			row = g->row[SH_CUSTOMERS];
			snprintf(name, sizeof(name), "%s %s", first_names[(i + 7) % NELEM(first_names)][0],
					 surnames[(i + 3) % NELEM(surnames)][0]);
			put_text(g, SH_CUSTOMERS, CC_NAME, name);
			add_dirt(g, kind, SH_CUSTOMERS, row, CC_CODE, NULL, NULL);
			g->row[SH_CUSTOMERS]++;
		}
	}
	free(pl.items);
}

/*
 * write_campaigns
 *		The eight campaigns.  Dirt: two dates typed as text, one budget with
 *		a decimal comma.
 */
static void
write_campaigns(Gen *g)
{
	int			i;
	char		buf[32];
	char		value[32];

	write_header(g, SH_CAMPAIGNS);
	for (i = 0; i < MKWB_NCAMPAIGNS; i++)
	{
		const CampaignDef *c = &campaigns[i];
		lxw_row_t	row = g->row[SH_CAMPAIGNS];

		put_text(g, SH_CAMPAIGNS, 0, c->code);
		put_text(g, SH_CAMPAIGNS, 1, c->name);
		put_text(g, SH_CAMPAIGNS, 2, c->channel);
		if (c->target[0] != '\0')
		{
			int			k;

			put_text(g, SH_CAMPAIGNS, 3, c->target);
			for (k = 0; k < NELEM(customer_segments); k++)
				if (strcmp(customer_segments[k], c->target) == 0)
					break;
			/* segment_used has room for the targets that are no customer segment */
			if (k == NELEM(customer_segments))
				k = strcmp(c->target, "Familias") == 0 ? k : k + 1;
			g->segment_used[k] = 1;
		}
		if (i == 1 && !g->clean)
		{
			GenFormatDmy(g->campaign_start[i], buf);
			GenFormatIso(g->campaign_start[i], value);
			put_text(g, SH_CAMPAIGNS, 4, buf);
			add_dirt(g, DK_TEXT_DATE, SH_CAMPAIGNS, row, 4, buf, value);
		}
		else
			put_date(g, SH_CAMPAIGNS, 4, g->campaign_start[i]);
		if (i == 4 && !g->clean)
		{
			GenFormatDmy(g->campaign_end[i], buf);
			GenFormatIso(g->campaign_end[i], value);
			put_text(g, SH_CAMPAIGNS, 5, buf);
			add_dirt(g, DK_TEXT_DATE, SH_CAMPAIGNS, row, 5, buf, value);
		}
		else
			put_date(g, SH_CAMPAIGNS, 5, g->campaign_end[i]);
		if (i == 6 && !g->clean)
		{
			GenFormatCents(c->budget_cents, buf, ',');
			GenFormatCents(c->budget_cents, value, '.');
			put_text(g, SH_CAMPAIGNS, 6, buf);
			add_dirt(g, DK_DECIMAL_COMMA, SH_CAMPAIGNS, row, 6, buf, value);
		}
		else
			put_money(g, SH_CAMPAIGNS, 6, c->budget_cents);
		g->row[SH_CAMPAIGNS]++;
	}
}

/* Sales ----------------------------------------------------------------------- */

/*
 * write_sale_row
 *		One row of Ventas from a clean line, with at most one defect (kind;
 *		DK_NONE for none).  When record is false the defect is written but
 *		not listed (the exact copy of a duplicated row).  Returns the 0-based
 *		row written.
 */
static lxw_row_t
write_sale_row(Gen *g, const SaleLine *s, DirtKind kind, int variant, int record)
{
	const int	sh = SH_SALES;
	lxw_row_t	row = g->row[sh];
	const Product *p = &g->products[s->product];
	char		buf[64];
	char		value[64];

	put_num(g, sh, VC_TICKET, (double) s->ticket);
	put_num(g, sh, VC_LINE, s->line);

	/* Fecha */
	if (kind == DK_TEXT_DATE)
	{
		GenFormatDmy(s->day, buf);
		GenFormatIso(s->day, value);
		put_text(g, sh, VC_DATE, buf);
		if (record)
			add_dirt(g, kind, sh, row, VC_DATE, buf, value);
	}
	else if (kind == DK_BAD_DATE)
	{
		static const char *const bad[] = {"31/02/2024", "32/01/2023", "00/05/2024", "ayer"};

		put_text(g, sh, VC_DATE, bad[variant % NELEM(bad)]);
		if (record)
			add_dirt(g, kind, sh, row, VC_DATE, bad[variant % NELEM(bad)], NULL);
	}
	else
		put_date(g, sh, VC_DATE, s->day);

	/* Sucursal */
	if (kind == DK_STORE_NAME)
	{
		store_variant(s->store, variant, buf, sizeof(buf));
		put_text(g, sh, VC_STORE, buf);
		if (record)
			add_dirt(g, kind, sh, row, VC_STORE, buf, stores[s->store].name);
	}
	else if (kind == DK_UNKNOWN_STORE)
	{
		static const char *const bad[] = {"Nortee", "Centro Comercial", "Sur Este", "Oeste"};

		put_text(g, sh, VC_STORE, bad[variant % NELEM(bad)]);
		if (record)
			add_dirt(g, kind, sh, row, VC_STORE, bad[variant % NELEM(bad)], NULL);
	}
	else
		put_text(g, sh, VC_STORE, stores[s->store].name);

	/* Cliente */
	if (kind == DK_UNKNOWN_CUSTOMER)
	{
		snprintf(buf, sizeof(buf), "C99%03d", variant % 1000);
		put_text(g, sh, VC_CUSTOMER, buf);
		if (record)
			add_dirt(g, kind, sh, row, VC_CUSTOMER, buf, NULL);
	}
	else if (s->customer >= 0)
		put_text(g, sh, VC_CUSTOMER, g->customers[s->customer].code);

	/* SKU */
	if (kind == DK_WHITESPACE)
	{
		snprintf(buf, sizeof(buf), variant % 2 ? " %s" : "%s   ", p->sku);
		put_text(g, sh, VC_SKU, buf);
		if (record)
			add_dirt(g, kind, sh, row, VC_SKU, buf, p->sku);
	}
	else if (kind == DK_MISSING_REQUIRED)
	{
		if (record)
			add_dirt(g, kind, sh, row, VC_SKU, NULL, NULL);
	}
	else if (kind == DK_UNKNOWN_PRODUCT)
	{
		snprintf(buf, sizeof(buf), "ZZZ-%03d", 900 + variant % 100);
		put_text(g, sh, VC_SKU, buf);
		if (record)
			add_dirt(g, kind, sh, row, VC_SKU, buf, NULL);
	}
	else
		put_text(g, sh, VC_SKU, p->sku);

	/* Cantidad */
	if (kind == DK_NUMBER_AS_TEXT)
	{
		snprintf(buf, sizeof(buf), variant % 2 ? "%d " : "%d", s->quantity);
		snprintf(value, sizeof(value), "%d", s->quantity);
		put_text(g, sh, VC_QTY, buf);
		if (record)
			add_dirt(g, kind, sh, row, VC_QTY, buf, value);
	}
	else if (kind == DK_NEGATIVE_QUANTITY)
	{
		put_num(g, sh, VC_QTY, -s->quantity);
		if (record)
			add_dirt_num(g, kind, sh, row, VC_QTY, -s->quantity);
	}
	else if (kind == DK_BAD_NUMBER && variant % 2 == 0)
	{
		static const char *const bad[] = {"dos", "n/a", "1 2"};

		put_text(g, sh, VC_QTY, bad[(variant / 2) % NELEM(bad)]);
		if (record)
			add_dirt(g, kind, sh, row, VC_QTY, bad[(variant / 2) % NELEM(bad)], NULL);
	}
	else
		put_num(g, sh, VC_QTY, s->quantity);

	/* Importe */
	if (kind == DK_DECIMAL_COMMA)
	{
		GenFormatCents(s->cents, buf, ',');
		GenFormatCents(s->cents, value, '.');
		put_text(g, sh, VC_AMOUNT, buf);
		if (record)
			add_dirt(g, kind, sh, row, VC_AMOUNT, buf, value);
	}
	else if (kind == DK_BAD_NUMBER && variant % 2 == 1)
	{
		GenFormatCents(s->cents, value, ',');
		snprintf(buf, sizeof(buf), "%.32s,5", value);
		put_text(g, sh, VC_AMOUNT, buf);
		if (record)
			add_dirt(g, kind, sh, row, VC_AMOUNT, buf, NULL);
	}
	else
		put_money(g, sh, VC_AMOUNT, s->cents);

	/* Campaña */
	if (kind == DK_UNKNOWN_CAMPAIGN)
	{
		snprintf(buf, sizeof(buf), "CMP-%d", 90 + variant % 10);
		put_text(g, sh, VC_CAMPAIGN, buf);
		if (record)
			add_dirt(g, kind, sh, row, VC_CAMPAIGN, buf, NULL);
	}
	else if (s->campaign >= 0)
		put_text(g, sh, VC_CAMPAIGN, campaigns[s->campaign].code);

	g->row[sh]++;
	g->sales_rows_written++;
	return row;
}

/*
 * accept_sale
 *		Count a line that a correct import keeps.
 */
static void
accept_sale(Gen *g, const SaleLine *s)
{
	totals_add(&g->sales_total, s->quantity, s->cents);
	totals_add(&g->sales_store[s->store], s->quantity, s->cents);
	totals_add(&g->sales_month[month_index(s->day)], s->quantity, s->cents);
	g->sale_days[s->day - g->first_day] = 1;
	if (s->campaign >= 0)
		totals_add(&g->camp_lines[s->campaign], s->quantity, s->cents);
	if (s->customer >= 0)
	{
		Customer   *c = &g->customers[s->customer];

		c->lines++;
		c->cents += s->cents;
	}
}

/*
 * in_basket
 *		Whether product p is among the n products of a basket.
 */
static int
in_basket(const int *basket, int n, int p)
{
	int			i;

	for (i = 0; i < n; i++)
		if (basket[i] == p)
			return 1;
	return 0;
}

/*
 * draw_customer
 *		A customer for a ticket on day, or -1 (anonymous).  Customers are
 *		drawn by visit weight; a lapsed one past its last day is drawn
 *		again (rejection sampling), giving up after 50 draws.
 */
static int
draw_customer(Gen *g, int32_t day)
{
	int			tries;

	if (GenRngChance(&g->rng_sales, MKWB_P_ANONYMOUS))
		return -1;
	for (tries = 0; tries < 50; tries++)
	{
		int			c = pick_cum(&g->rng_sales, g->customer_cum, g->ncustomers);

		if (day <= g->customers[c].churn_day)
			return c;
	}
	return -1;
}

/*
 * gen_ticket
 *		One basket: customer, lines (group-dependent count of distinct
 *		products by popularity, then the planted rules), campaign
 *		attribution, and the rows, with the planned dirt.
 */
static void
gen_ticket(Gen *g, int32_t day, int store, PlanList *pl, long *line_counter)
{
	int			basket[MKWB_MAX_BASKET];
	int			n = 0,
				want,
				i,
				r;
	int			customer = draw_customer(g, day);
	double		mean = customer >= 0 ? groups[g->customers[customer].group].mean_lines : MKWB_ANON_LINES;
	int			campaign = g->campaign_of_day[day - g->first_day];
	int			attributed = -1;
	SaleLine	s;
	Plan		pending[MKWB_MAX_BASKET];
	int			npending = 0;
	lxw_row_t	last_row = 0;
	DirtKind	last_kind = DK_NONE;
	int			last_variant = 0;

	want = 1 + GenRngPoisson(&g->rng_sales, mean - 1.0);
	if (want > MKWB_MAX_BASKET - MKWB_NRULES)
		want = MKWB_MAX_BASKET - MKWB_NRULES;
	if (want > g->nproducts / 2)
		want = g->nproducts / 2;
	while (n < want)
	{
		int			p = pick_cum(&g->rng_sales, g->product_cum, g->nproducts);

		if (!in_basket(basket, n, p))
			basket[n++] = p;
	}
	/* planted associations: add the consequent with the rule's probability */
	for (r = 0; r < MKWB_NRULES; r++)
	{
		int			has = in_basket(basket, n, g->rule_ante[r][0]) &&
			(g->rule_ante[r][1] < 0 || in_basket(basket, n, g->rule_ante[r][1]));

		if (has && !in_basket(basket, n, g->rule_cons[r]) &&
			GenRngChance(&g->rng_sales, rules[r].probability))
			basket[n++] = g->rule_cons[r];
	}
	/* realised rule counts, over the baskets as written */
	for (r = 0; r < MKWB_NRULES; r++)
	{
		int			has = in_basket(basket, n, g->rule_ante[r][0]) &&
			(g->rule_ante[r][1] < 0 || in_basket(basket, n, g->rule_ante[r][1]));
		int			cons = in_basket(basket, n, g->rule_cons[r]);

		g->rule_ante_count[r] += has;
		g->rule_cons_count[r] += cons;
		g->rule_both_count[r] += has && cons;
	}

	/* inside a campaign window the extra (uplift - 1) / uplift share is the campaign's */
	if (campaign >= 0)
	{
		g->camp_window_tickets[campaign]++;
		if (GenRngChance(&g->rng_sales, (campaigns[campaign].uplift - 1.0) / campaigns[campaign].uplift))
		{
			attributed = campaign;
			g->camp_tickets[campaign]++;
		}
	}

	g->tickets++;
	if (customer >= 0)
	{
		Customer   *c = &g->customers[customer];

		c->tickets++;
		if (day > c->last_day)
			c->last_day = day;
	}
	else
		g->anon_tickets++;

	memset(&s, 0, sizeof(s));
	s.ticket = g->next_ticket++;
	s.day = day;
	s.store = store;
	s.customer = customer;
	s.campaign = attributed;
	for (i = 0; i < n; i++)
	{
		const Plan *plan = plan_at(pl, (*line_counter)++);
		DirtKind	kind = DK_NONE;
		int			variant = 0;

		s.line = i + 1;
		s.product = basket[i];
		s.quantity = draw_quantity(&g->rng_sales);
		s.cents = g->products[s.product].price_cents * s.quantity;
		if (plan)
		{
			/* defects of the line itself; the rest become extra rows */
			if (!DIRT_IS_REJECT(plan->kind) && plan->kind != DK_BLANK_ROW)
			{
				kind = plan->kind;
				variant = plan->variant;
			}
			else if (npending < MKWB_MAX_BASKET)
				pending[npending++] = *plan;
		}
		last_row = write_sale_row(g, &s, kind, variant, 1);
		last_kind = kind;
		last_variant = variant;
		accept_sale(g, &s);
	}

	/* extra rows after the ticket, s still holds its last line */
	for (i = 0; i < npending; i++)
	{
		const Plan *plan = &pending[i];

		if (plan->kind == DK_BLANK_ROW)
			put_blank_row(g, SH_SALES, plan->variant);
		else if (plan->kind == DK_DUPLICATE_ROW)
		{
			lxw_row_t	row = write_sale_row(g, &s, last_kind, last_variant, 0);
			Dirt	   *d = add_dirt(g, DK_DUPLICATE_ROW, SH_SALES, row, -1, NULL, NULL);

			d->dup_of = (long) last_row + 1;
		}
		else
		{
			/* a line of its own ticket, with one defect */
			SaleLine	junk = s;

			junk.ticket = g->next_ticket++;
			junk.line = 1;
			write_sale_row(g, &junk, plan->kind, plan->variant, 1);
		}
	}
}

/*
 * store_day_factor
 *		Expected tickets of a store on a day relative to level_scale:
 *		level * (1 + trend * years) * weekly * monthly * campaign uplift.
 */
static double
store_day_factor(Gen *g, int store, int32_t day)
{
	int			y,
				m,
				d;
	double		years = (double) (day - g->first_day) / 365.0;
	int			campaign = g->campaign_of_day[day - g->first_day];
	double		f;

	GenCivilFromDays(day, &y, &m, &d);
	f = stores[store].level * (1.0 + stores[store].trend * years) *
		weekly[GenIsoWeekday(day)] * monthly[m - 1];
	if (campaign >= 0)
		f *= campaigns[campaign].uplift;
	return f;
}

/*
 * expected_lines_per_ticket
 *		Mean lines per ticket implied by the parameters (lapsed customers
 *		counted as active half the time, plus about 0.25 lines from the
 *		rules); only used to size the ticket rate to the target line count.
 */
static double
expected_lines_per_ticket(void)
{
	double		w = 0.0,
				l = 0.0;
	int			k;

	for (k = 0; k < MKWB_NGROUPS; k++)
	{
		double		t = groups[k].share * groups[k].visit_weight * (groups[k].churns ? 0.5 : 1.0);

		w += t;
		l += t * groups[k].mean_lines;
	}
	return MKWB_P_ANONYMOUS * MKWB_ANON_LINES + (1.0 - MKWB_P_ANONYMOUS) * (l / w) + 0.25;
}

/*
 * write_sales
 *		Day by day, store by store, a Poisson number of tickets with the
 *		store-day's expected rate; dirt planned over the expected lines.
 */
static void
write_sales(Gen *g)
{
	static const DirtKind kinds[] = {
		DK_TEXT_DATE, DK_DECIMAL_COMMA, DK_WHITESPACE, DK_STORE_NAME, DK_NUMBER_AS_TEXT,
		DK_BLANK_ROW, DK_DUPLICATE_ROW, DK_MISSING_REQUIRED, DK_UNKNOWN_STORE,
		DK_UNKNOWN_PRODUCT, DK_UNKNOWN_CUSTOMER, DK_UNKNOWN_CAMPAIGN, DK_BAD_DATE,
	DK_BAD_NUMBER, DK_NEGATIVE_QUANTITY};
	PlanList	pl;
	double		sum = 0.0;
	int32_t		day;
	int			s;
	long		line_counter = 0;

	for (day = g->first_day; day < g->first_day + g->ndays; day++)
		for (s = 0; s < MKWB_NSTORES; s++)
			sum += store_day_factor(g, s, day);
	g->level_scale = (double) g->target_lines / (sum * expected_lines_per_ticket());

	/* plant within the first 90% of the expected lines, so all are reached */
	make_plan(g, &pl, kinds, NELEM(kinds), g->dirt_per_kind, 0, (long) (g->target_lines * 0.9));
	write_header(g, SH_SALES);
	for (day = g->first_day; day < g->first_day + g->ndays; day++)
		for (s = 0; s < MKWB_NSTORES; s++)
		{
			int			n = GenRngPoisson(&g->rng_sales, g->level_scale * store_day_factor(g, s, day));
			int			t;

			for (t = 0; t < n; t++)
				gen_ticket(g, day, s, &pl, &line_counter);
		}
	if (pl.next != pl.n)
		die("internal error: not all planned dirt was planted in Ventas", NULL);
	free(pl.items);
}

/* Losses ---------------------------------------------------------------------- */

/*
 * write_loss_row
 *		One row of Pérdidas with at most one defect.
 */
static void
write_loss_row(Gen *g, long ref, int32_t day, int store, int product, int reason,
			   int quantity, int64_t cents, DirtKind kind, int variant)
{
	const int	sh = SH_LOSSES;
	lxw_row_t	row = g->row[sh];
	char		buf[64];
	char		value[64];

	snprintf(buf, sizeof(buf), "P-%06ld", ref);
	put_text(g, sh, LC_REF, buf);

	if (kind == DK_TEXT_DATE)
	{
		GenFormatDmy(day, buf);
		GenFormatIso(day, value);
		put_text(g, sh, LC_DATE, buf);
		add_dirt(g, kind, sh, row, LC_DATE, buf, value);
	}
	else
		put_date(g, sh, LC_DATE, day);

	if (kind == DK_STORE_NAME)
	{
		store_variant(store, variant, buf, sizeof(buf));
		put_text(g, sh, LC_STORE, buf);
		add_dirt(g, kind, sh, row, LC_STORE, buf, stores[store].name);
	}
	else if (kind == DK_UNKNOWN_STORE)
	{
		put_text(g, sh, LC_STORE, "Almacén central");
		add_dirt(g, kind, sh, row, LC_STORE, "Almacén central", NULL);
	}
	else
		put_text(g, sh, LC_STORE, stores[store].name);

	if (kind == DK_MISSING_REQUIRED)
		add_dirt(g, kind, sh, row, LC_SKU, NULL, NULL);
	else if (kind == DK_UNKNOWN_PRODUCT)
	{
		snprintf(buf, sizeof(buf), "XYZ-%03d", 800 + variant % 100);
		put_text(g, sh, LC_SKU, buf);
		add_dirt(g, kind, sh, row, LC_SKU, buf, NULL);
	}
	else
		put_text(g, sh, LC_SKU, g->products[product].sku);

	if (kind == DK_WHITESPACE)
	{
		snprintf(buf, sizeof(buf), variant % 2 ? "%s  " : " %s", reasons[reason]);
		put_text(g, sh, LC_REASON, buf);
		add_dirt(g, kind, sh, row, LC_REASON, buf, reasons[reason]);
	}
	else
		put_text(g, sh, LC_REASON, reasons[reason]);

	if (kind == DK_NEGATIVE_QUANTITY)
	{
		put_num(g, sh, LC_QTY, -quantity);
		add_dirt_num(g, kind, sh, row, LC_QTY, -quantity);
	}
	else if (kind == DK_BAD_NUMBER)
	{
		put_text(g, sh, LC_QTY, "tres");
		add_dirt(g, kind, sh, row, LC_QTY, "tres", NULL);
	}
	else
		put_num(g, sh, LC_QTY, quantity);

	if (kind == DK_DECIMAL_COMMA)
	{
		GenFormatCents(cents, buf, ',');
		GenFormatCents(cents, value, '.');
		put_text(g, sh, LC_AMOUNT, buf);
		add_dirt(g, kind, sh, row, LC_AMOUNT, buf, value);
	}
	else
		put_money(g, sh, LC_AMOUNT, cents);

	g->row[sh]++;
	g->losses_rows_written++;
}

/*
 * write_losses
 *		Losses day by day and store by store, about one per 20 sales lines,
 *		reasons with the shares of reason_shares.
 */
static void
write_losses(Gen *g)
{
	static const DirtKind kinds[] = {
		DK_TEXT_DATE, DK_DECIMAL_COMMA, DK_STORE_NAME, DK_WHITESPACE, DK_BLANK_ROW,
		DK_MISSING_REQUIRED, DK_UNKNOWN_STORE, DK_UNKNOWN_PRODUCT, DK_BAD_NUMBER,
	DK_NEGATIVE_QUANTITY};
	PlanList	pl;
	double		expected = (double) g->target_lines / 20.0;
	double		lambda = expected / (g->ndays * MKWB_NSTORES);
	int			count = g->dirt_per_kind / 2 < 2 ? 2 : g->dirt_per_kind / 2;
	long		counter = 0;
	int32_t		day;
	int			s;

	make_plan(g, &pl, kinds, NELEM(kinds), count, 0, (long) (expected * 0.8));
	write_header(g, SH_LOSSES);
	for (day = g->first_day; day < g->first_day + g->ndays; day++)
		for (s = 0; s < MKWB_NSTORES; s++)
		{
			int			n = GenRngPoisson(&g->rng_losses, lambda);
			int			t;

			for (t = 0; t < n; t++)
			{
				int			product = pick_cum(&g->rng_losses, g->product_cum, g->nproducts);
				double		u = GenRngUniform(&g->rng_losses);
				int			reason = MKWB_NREASONS - 1;
				int			quantity = 1 + GenRngPoisson(&g->rng_losses, 2.0);
				int64_t		cents;
				const Plan *plan = plan_at(&pl, counter++);
				double		acc = 0.0;
				int			k;

				for (k = 0; k < MKWB_NREASONS; k++)
				{
					acc += reason_shares[k];
					if (u < acc)
					{
						reason = k;
						break;
					}
				}
				if (quantity > MKWB_MAX_LOSS_QTY)
					quantity = MKWB_MAX_LOSS_QTY;
				cents = g->products[product].cost_cents * quantity;

				if (plan && !DIRT_IS_REJECT(plan->kind) && plan->kind != DK_BLANK_ROW)
					write_loss_row(g, g->next_loss_ref++, day, s, product, reason,
								   quantity, cents, plan->kind, plan->variant);
				else
					write_loss_row(g, g->next_loss_ref++, day, s, product, reason,
								   quantity, cents, DK_NONE, 0);
				totals_add(&g->loss_total, quantity, cents);
				totals_add(&g->loss_reason[reason], quantity, cents);
				g->loss_days[day - g->first_day] = 1;

				if (plan && plan->kind == DK_BLANK_ROW)
					put_blank_row(g, SH_LOSSES, plan->variant);
				else if (plan && DIRT_IS_REJECT(plan->kind))
					write_loss_row(g, g->next_loss_ref++, day, s, product, reason,
								   quantity, cents, plan->kind, plan->variant);
			}
		}
	if (pl.next != pl.n)
		die("internal error: not all planned dirt was planted in Pérdidas", NULL);
	free(pl.items);
}

/* Manifest -------------------------------------------------------------------- */

/*
 * json_totals
 *		{"rows": n, "quantity": q, "amount": "123.45"}
 */
static void
json_totals(JsonWriter *w, const char *rows_key, const Totals *t)
{
	JsonBeginObject(w);
	JsonKey(w, rows_key);
	JsonInt(w, t->count);
	JsonKey(w, "quantity");
	JsonInt(w, t->quantity);
	JsonKey(w, "amount");
	JsonCents(w, t->cents);
	JsonEndObject(w);
}

/*
 * json_date
 *		A day as a "yyyy-mm-dd" string.
 */
static void
json_date(JsonWriter *w, int32_t day)
{
	char		buf[11];

	GenFormatIso(day, buf);
	JsonString(w, buf);
}

/*
 * write_manifest_sheets
 *		Sheet and column names used.
 */
static void
write_manifest_sheets(Gen *g, JsonWriter *w)
{
	int			s,
				c;

	JsonBeginObject(w);
	for (s = 0; s < SH_COUNT; s++)
	{
		JsonKey(w, sheet_defs[s].key);
		JsonBeginObject(w);
		JsonKey(w, "name");
		JsonString(w, sheet_defs[s].name[g->lang]);
		JsonKey(w, "header_row");
		JsonInt(w, 1);
		JsonKey(w, "rows_written");
		JsonInt(w, (int64_t) g->row[s] - 1);
		JsonKey(w, "columns");
		JsonBeginArray(w);
		for (c = 0; c < sheet_defs[s].ncols; c++)
			JsonString(w, sheet_defs[s].cols[g->lang][c]);
		JsonEndArray(w);
		JsonEndObject(w);
	}
	JsonEndObject(w);
}

/*
 * write_manifest_counts
 *		Rows per warehouse table after a correct import, and the dates.
 */
static void
write_manifest_counts(Gen *g, JsonWriter *w)
{
	int			i,
				segments = 0,
				channels = 0,
				reasons_used = 0;
	long		sale_dates = 0,
				loss_dates = 0,
				all_dates = 0;
	int32_t		first = -1,
				last = -1;

	for (i = 0; i < NELEM(g->segment_used); i++)
		segments += g->segment_used[i];
	for (i = 0; i < MKWB_NCAMPAIGNS; i++)
	{
		int			k;

		for (k = 0; k < i; k++)
			if (strcmp(campaigns[k].channel, campaigns[i].channel) == 0)
				break;
		channels += (k == i);
	}
	for (i = 0; i < MKWB_NREASONS; i++)
		reasons_used += g->loss_reason[i].count > 0;
	for (i = 0; i < g->ndays; i++)
	{
		sale_dates += g->sale_days[i];
		loss_dates += g->loss_days[i];
		if (g->sale_days[i] || g->loss_days[i])
		{
			all_dates++;
			if (first < 0)
				first = g->first_day + i;
			last = g->first_day + i;
		}
	}

	JsonBeginObject(w);
	JsonKey(w, "regions");
	JsonInt(w, MKWB_NSTORES);
	JsonKey(w, "cities");
	JsonInt(w, MKWB_NSTORES);
	JsonKey(w, "stores");
	JsonInt(w, MKWB_NSTORES);
	JsonKey(w, "departments");
	JsonInt(w, MKWB_NDEPARTMENTS);
	JsonKey(w, "categories");
	JsonInt(w, MKWB_NCATEGORIES);
	JsonKey(w, "products");
	JsonInt(w, g->nproducts);
	JsonKey(w, "customers");
	JsonInt(w, g->ncustomers);
	JsonKey(w, "channels");
	JsonInt(w, channels);
	JsonKey(w, "campaigns");
	JsonInt(w, MKWB_NCAMPAIGNS);
	JsonKey(w, "segments");
	JsonInt(w, segments);
	JsonKey(w, "loss_reasons");
	JsonInt(w, reasons_used);
	JsonKey(w, "sales");
	JsonInt(w, g->sales_total.count);
	JsonKey(w, "losses");
	JsonInt(w, g->loss_total.count);
	JsonKey(w, "tickets");
	JsonInt(w, g->tickets);
	JsonKey(w, "anonymous_tickets");
	JsonInt(w, g->anon_tickets);
	JsonKey(w, "customers_with_email");
	JsonInt(w, g->customers_with_email);
	JsonKey(w, "customers_with_wallet");
	JsonInt(w, g->customers_with_wallet);
	JsonKey(w, "dates");
	JsonBeginObject(w);
	JsonKey(w, "distinct");
	JsonInt(w, all_dates);
	JsonKey(w, "distinct_sales");
	JsonInt(w, sale_dates);
	JsonKey(w, "distinct_losses");
	JsonInt(w, loss_dates);
	JsonKey(w, "first");
	json_date(w, first);
	JsonKey(w, "last");
	json_date(w, last);
	JsonKey(w, "days_spanned");
	JsonInt(w, last - first + 1);
	JsonEndObject(w);
	JsonEndObject(w);
}

/*
 * write_manifest_totals
 *		Sums of accepted sales per store and month, losses per reason.
 */
static void
write_manifest_totals(Gen *g, JsonWriter *w)
{
	int			i;

	JsonBeginObject(w);
	JsonKey(w, "sales");
	JsonBeginObject(w);
	JsonKey(w, "all");
	json_totals(w, "lines", &g->sales_total);
	JsonKey(w, "by_store");
	JsonBeginObject(w);
	for (i = 0; i < MKWB_NSTORES; i++)
	{
		JsonKey(w, stores[i].name);
		json_totals(w, "lines", &g->sales_store[i]);
	}
	JsonEndObject(w);
	JsonKey(w, "by_month");
	JsonBeginObject(w);
	for (i = 0; i < MKWB_MONTHS; i++)
	{
		char		key[8];

		snprintf(key, sizeof(key), "%04d-%02d", 2023 + i / 12, i % 12 + 1);
		JsonKey(w, key);
		json_totals(w, "lines", &g->sales_month[i]);
	}
	JsonEndObject(w);
	JsonEndObject(w);
	JsonKey(w, "losses");
	JsonBeginObject(w);
	JsonKey(w, "all");
	json_totals(w, "rows", &g->loss_total);
	JsonKey(w, "by_reason");
	JsonBeginObject(w);
	for (i = 0; i < MKWB_NREASONS; i++)
	{
		JsonKey(w, reasons[i]);
		json_totals(w, "rows", &g->loss_reason[i]);
	}
	JsonEndObject(w);
	JsonEndObject(w);
	JsonEndObject(w);
}

/*
 * write_manifest_dirt
 *		Every planted instance, in sheet order then row order as planted.
 */
static void
write_manifest_dirt(Gen *g, JsonWriter *w)
{
	int			i;

	JsonBeginArray(w);
	for (i = 0; i < g->ndirt; i++)
	{
		const Dirt *d = &g->dirt[i];

		JsonBeginObject(w);
		JsonKey(w, "kind");
		JsonString(w, dirt_names[d->kind]);
		JsonKey(w, "sheet");
		JsonString(w, sheet_defs[d->sheet].name[g->lang]);
		JsonKey(w, "row");
		JsonInt(w, d->row);
		JsonKey(w, "column");
		JsonString(w, d->col >= 0 ? sheet_defs[d->sheet].cols[g->lang][d->col] : NULL);
		JsonKey(w, "raw");
		if (d->raw_type == 1)
			JsonString(w, d->raw_text);
		else if (d->raw_type == 2)
			JsonInt(w, (int64_t) d->raw_num);
		else
			JsonNull(w);
		JsonKey(w, "outcome");
		if (DIRT_IS_REJECT(d->kind))
		{
			JsonString(w, "rejected");
			JsonKey(w, "reason");
			JsonString(w, dirt_names[d->kind]);
		}
		else
		{
			JsonString(w, "cleaned");
			JsonKey(w, "value");
			JsonString(w, d->value);
			if (d->kind == DK_BAD_EMAIL)
			{
				JsonKey(w, "reason");
				JsonString(w, "bad_email");
			}
		}
		if (d->kind == DK_DUPLICATE_ROW)
		{
			JsonKey(w, "duplicate_of");
			JsonInt(w, d->dup_of);
		}
		JsonEndObject(w);
	}
	JsonEndArray(w);
}

/*
 * write_manifest_truth
 *		The planted truth: demand model, campaign uplifts, customer groups
 *		(and each customer's group), association rules, loss shares.
 */
static void
write_manifest_truth(Gen *g, JsonWriter *w)
{
	int			i,
				k;

	JsonBeginObject(w);

	JsonKey(w, "demand");
	JsonBeginObject(w);
	JsonKey(w, "model");
	JsonString(w, "tickets(store, day) ~ Poisson(tickets_per_day_at_level_1 * level[store] * "
			   "(1 + trend_per_year[store] * (day - first_day) / 365) * weekly[iso weekday] * "
			   "monthly[month] * uplift[campaign active on day, else 1])");
	JsonKey(w, "first_day");
	json_date(w, g->first_day);
	JsonKey(w, "last_day");
	json_date(w, g->first_day + g->ndays - 1);
	JsonKey(w, "tickets_per_day_at_level_1");
	JsonDouble(w, g->level_scale, 6);
	JsonKey(w, "stores");
	JsonBeginObject(w);
	for (i = 0; i < MKWB_NSTORES; i++)
	{
		JsonKey(w, stores[i].name);
		JsonBeginObject(w);
		JsonKey(w, "level");
		JsonDouble(w, stores[i].level, 2);
		JsonKey(w, "trend_per_year");
		JsonDouble(w, stores[i].trend, 2);
		JsonEndObject(w);
	}
	JsonEndObject(w);
	JsonKey(w, "weekly");
	JsonBeginObject(w);
	for (i = 1; i <= 7; i++)
	{
		JsonKey(w, weekday_keys[i]);
		JsonDouble(w, weekly[i], 2);
	}
	JsonEndObject(w);
	JsonKey(w, "monthly");
	JsonBeginArray(w);
	for (i = 0; i < 12; i++)
		JsonDouble(w, monthly[i], 2);
	JsonEndArray(w);
	JsonKey(w, "lines_per_ticket");
	JsonString(w, "1 + Poisson(mean_lines - 1) distinct products drawn by popularity, then the association rules");
	JsonKey(w, "anonymous_share");
	JsonDouble(w, MKWB_P_ANONYMOUS, 2);
	JsonKey(w, "anonymous_mean_lines");
	JsonDouble(w, MKWB_ANON_LINES, 2);
	JsonKey(w, "quantity");
	JsonString(w, "1: 65%, 2: 20%, 3: 8%, 4-6: 5%, 7-12: 2%; amount = quantity * price");
	JsonEndObject(w);

	JsonKey(w, "campaigns");
	JsonBeginArray(w);
	for (i = 0; i < MKWB_NCAMPAIGNS; i++)
	{
		JsonBeginObject(w);
		JsonKey(w, "code");
		JsonString(w, campaigns[i].code);
		JsonKey(w, "start");
		json_date(w, g->campaign_start[i]);
		JsonKey(w, "end");
		json_date(w, g->campaign_end[i]);
		JsonKey(w, "uplift");
		JsonDouble(w, campaigns[i].uplift, 2);
		JsonKey(w, "attributed_share");
		JsonDouble(w, (campaigns[i].uplift - 1.0) / campaigns[i].uplift, 6);
		JsonKey(w, "realised");
		JsonBeginObject(w);
		JsonKey(w, "tickets_in_window");
		JsonInt(w, g->camp_window_tickets[i]);
		JsonKey(w, "attributed_tickets");
		JsonInt(w, g->camp_tickets[i]);
		JsonKey(w, "attributed_lines");
		JsonInt(w, g->camp_lines[i].count);
		JsonKey(w, "attributed_quantity");
		JsonInt(w, g->camp_lines[i].quantity);
		JsonKey(w, "attributed_amount");
		JsonCents(w, g->camp_lines[i].cents);
		JsonEndObject(w);
		JsonEndObject(w);
	}
	JsonEndArray(w);

	JsonKey(w, "customer_groups");
	JsonBeginArray(w);
	for (k = 0; k < MKWB_NGROUPS; k++)
	{
		long		n = 0,
					tickets = 0,
					lines = 0,
					buyers = 0;
		int64_t		cents = 0;
		double		recency = 0.0;
		int32_t		last = g->first_day + g->ndays - 1;

		for (i = 0; i < g->ncustomers; i++)
		{
			const Customer *c = &g->customers[i];

			if (c->group != k)
				continue;
			n++;
			tickets += c->tickets;
			lines += c->lines;
			cents += c->cents;
			if (c->last_day >= 0)
			{
				buyers++;
				recency += last - c->last_day;
			}
		}
		JsonBeginObject(w);
		JsonKey(w, "group");
		JsonString(w, groups[k].key);
		JsonKey(w, "description");
		JsonString(w, groups[k].description);
		JsonKey(w, "share");
		JsonDouble(w, groups[k].share, 2);
		JsonKey(w, "visit_weight");
		JsonDouble(w, groups[k].visit_weight, 2);
		JsonKey(w, "mean_lines");
		JsonDouble(w, groups[k].mean_lines, 2);
		JsonKey(w, "churn_window");
		if (groups[k].churns)
		{
			JsonBeginArray(w);
			JsonString(w, "2023-07-01");
			JsonString(w, "2024-04-30");
			JsonEndArray(w);
		}
		else
			JsonNull(w);
		JsonKey(w, "realised");
		JsonBeginObject(w);
		JsonKey(w, "customers");
		JsonInt(w, n);
		JsonKey(w, "customers_who_bought");
		JsonInt(w, buyers);
		JsonKey(w, "tickets");
		JsonInt(w, tickets);
		JsonKey(w, "lines");
		JsonInt(w, lines);
		JsonKey(w, "amount");
		JsonCents(w, cents);
		JsonKey(w, "mean_tickets_per_customer");
		JsonDouble(w, n ? (double) tickets / n : 0.0, 4);
		JsonKey(w, "mean_lines_per_ticket");
		JsonDouble(w, tickets ? (double) lines / tickets : 0.0, 4);
		JsonKey(w, "mean_recency_days");
		JsonDouble(w, buyers ? recency / buyers : 0.0, 2);
		JsonEndObject(w);
		JsonEndObject(w);
	}
	JsonEndArray(w);

	JsonKey(w, "customer_group_of");
	JsonBeginObject(w);
	for (i = 0; i < g->ncustomers; i++)
	{
		JsonKey(w, g->customers[i].code);
		JsonString(w, groups[g->customers[i].group].key);
	}
	JsonEndObject(w);

	JsonKey(w, "association_rules");
	JsonBeginArray(w);
	for (i = 0; i < MKWB_NRULES; i++)
	{
		double		n = (double) g->tickets;

		JsonBeginObject(w);
		JsonKey(w, "antecedent");
		JsonBeginArray(w);
		JsonString(w, rules[i].antecedent[0]);
		if (rules[i].antecedent[1])
			JsonString(w, rules[i].antecedent[1]);
		JsonEndArray(w);
		JsonKey(w, "consequent");
		JsonBeginArray(w);
		JsonString(w, rules[i].consequent);
		JsonEndArray(w);
		JsonKey(w, "add_probability");
		JsonDouble(w, rules[i].probability, 2);
		JsonKey(w, "realised");
		JsonBeginObject(w);
		JsonKey(w, "tickets");
		JsonInt(w, g->tickets);
		JsonKey(w, "antecedent_tickets");
		JsonInt(w, g->rule_ante_count[i]);
		JsonKey(w, "consequent_tickets");
		JsonInt(w, g->rule_cons_count[i]);
		JsonKey(w, "rule_tickets");
		JsonInt(w, g->rule_both_count[i]);
		JsonKey(w, "support");
		JsonDouble(w, n > 0 ? g->rule_both_count[i] / n : 0.0, 6);
		JsonKey(w, "confidence");
		JsonDouble(w, g->rule_ante_count[i] ? (double) g->rule_both_count[i] / g->rule_ante_count[i] : 0.0, 6);
		JsonKey(w, "lift");
		JsonDouble(w, (g->rule_ante_count[i] && g->rule_cons_count[i])
				   ? ((double) g->rule_both_count[i] / g->rule_ante_count[i]) / (g->rule_cons_count[i] / n)
				   : 0.0, 6);
		JsonEndObject(w);
		JsonEndObject(w);
	}
	JsonEndArray(w);

	JsonKey(w, "loss_reason_shares");
	JsonBeginObject(w);
	for (i = 0; i < MKWB_NREASONS; i++)
	{
		JsonKey(w, reasons[i]);
		JsonDouble(w, reason_shares[i], 2);
	}
	JsonEndObject(w);

	JsonEndObject(w);
}

/*
 * write_manifest
 *		The whole manifest.
 */
static void
write_manifest(Gen *g, const char *path)
{
	FILE	   *fp = fopen(path, "w");
	JsonWriter	w;
	int			counts[DK_COUNT] = {0};
	int			i;

	if (fp == NULL)
		die("could not create the manifest", path);
	JsonInit(&w, fp);
	JsonBeginObject(&w);
	JsonKey(&w, "generator");
	JsonBeginObject(&w);
	JsonKey(&w, "name");
	JsonString(&w, "mkworkbook");
	JsonKey(&w, "version");
	JsonString(&w, MKWB_VERSION);
	JsonEndObject(&w);
	JsonKey(&w, "seed");
	JsonInt(&w, (int64_t) g->seed);
	JsonKey(&w, "scale");
	JsonString(&w, g->scale);
	JsonKey(&w, "target_sales_lines");
	JsonInt(&w, g->target_lines);
	JsonKey(&w, "lang");
	JsonString(&w, g->lang ? "en" : "es");
	JsonKey(&w, "clean");
	JsonBool(&w, g->clean);
	JsonKey(&w, "constant_memory");
	JsonBool(&w, g->constant_memory);
	JsonKey(&w, "sheets");
	write_manifest_sheets(g, &w);
	JsonKey(&w, "counts");
	write_manifest_counts(g, &w);
	JsonKey(&w, "totals");
	write_manifest_totals(g, &w);
	JsonKey(&w, "dirt_summary");
	for (i = 0; i < g->ndirt; i++)
		counts[g->dirt[i].kind]++;
	JsonBeginObject(&w);
	for (i = 0; i < DK_COUNT; i++)
	{
		JsonKey(&w, dirt_names[i]);
		JsonInt(&w, counts[i]);
	}
	JsonEndObject(&w);
	JsonKey(&w, "dirt");
	write_manifest_dirt(g, &w);
	JsonKey(&w, "truth");
	write_manifest_truth(g, &w);
	JsonEndObject(&w);
	JsonFinish(&w);
	if (ferror(fp) || fclose(fp) != 0)
		die("could not write the manifest", path);
}

/* Main -------------------------------------------------------------------------- */

/*
 * usage
 *		Print the synopsis and exit.
 */
static void
usage(int status)
{
	fprintf(status ? stderr : stdout,
			"usage: mkworkbook [--seed S] [--scale small|medium|large | --sales-lines N]\n"
			"                  [--lang es|en] [--clean] OUT.xlsx MANIFEST.json\n"
			"  small ~3,000 sales lines, medium ~50,000, large ~1,000,000 (constant_memory)\n");
	exit(status);
}

/*
 * configure_scale
 *		Sizes from --scale or --sales-lines.
 */
static void
configure_scale(Gen *g, const char *scale, long lines)
{
	if (lines > 0)
	{
		g->scale = "custom";
		g->target_lines = lines;
		g->ncustomers_target = (int) (lines / 100 < 50 ? 50 : lines / 100 > 20000 ? 20000 : lines / 100);
		g->per_category = lines < 20000 ? 6 : lines < 300000 ? 12 : 30;
		g->dirt_per_kind = (int) (lines / 1000 < 3 ? 3 : lines / 1000 > 50 ? 50 : lines / 1000);
		/* room for the planted customer dirt: 6 kinds, twice as many rows */
		if (g->ncustomers_target < 12 * g->dirt_per_kind + 12)
			g->ncustomers_target = 12 * g->dirt_per_kind + 12;
	}
	else if (strcmp(scale, "small") == 0)
	{
		g->scale = "small";
		g->target_lines = 3000;
		g->ncustomers_target = 150;
		g->per_category = 6;
		g->dirt_per_kind = 3;
	}
	else if (strcmp(scale, "medium") == 0)
	{
		g->scale = "medium";
		g->target_lines = 50000;
		g->ncustomers_target = 1500;
		g->per_category = 12;
		g->dirt_per_kind = 10;
	}
	else if (strcmp(scale, "large") == 0)
	{
		g->scale = "large";
		g->target_lines = 1000000;
		g->ncustomers_target = 10000;
		g->per_category = 30;
		g->dirt_per_kind = 40;
	}
	else
	{
		fprintf(stderr, "mkworkbook: unknown scale \"%s\" (small, medium or large)\n", scale);
		usage(2);
	}
	g->constant_memory = g->target_lines > 200000;
}

/*
 * main
 *		Options, reference data, then the sheets in order and the manifest.
 */
int
main(int argc, char **argv)
{
	static Gen	gen;
	Gen		   *g = &gen;
	const char *scale = "small";
	long		lines = 0;
	const char *xlsx_path = NULL;
	const char *manifest_path = NULL;
	lxw_workbook_options options = {0};
	lxw_doc_properties properties = {0};
	int			i;

	g->seed = 1;
	for (i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			g->seed = GenParseU64(argv[++i], "--seed");
		else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc)
			scale = argv[++i];
		else if (strcmp(argv[i], "--sales-lines") == 0 && i + 1 < argc)
		{
			uint64_t	n = GenParseU64(argv[++i], "--sales-lines");

			if (n < 1000 || n > MKWB_MAX_LINES)
			{
				fprintf(stderr, "mkworkbook: --sales-lines must be between 1000 and %d\n", MKWB_MAX_LINES);
				exit(2);
			}
			lines = (long) n;
		}
		else if (strcmp(argv[i], "--lang") == 0 && i + 1 < argc)
		{
			i++;
			if (strcmp(argv[i], "es") == 0)
				g->lang = 0;
			else if (strcmp(argv[i], "en") == 0)
				g->lang = 1;
			else
			{
				fprintf(stderr, "mkworkbook: unknown language \"%s\" (es or en)\n", argv[i]);
				exit(2);
			}
		}
		else if (strcmp(argv[i], "--clean") == 0)
			g->clean = 1;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			usage(0);
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
		{
			fprintf(stderr, "mkworkbook: unknown option \"%s\"\n", argv[i]);
			usage(2);
		}
		else if (xlsx_path == NULL)
			xlsx_path = argv[i];
		else if (manifest_path == NULL)
			manifest_path = argv[i];
		else
			usage(2);
	}
	if (xlsx_path == NULL || manifest_path == NULL)
		usage(2);
	configure_scale(g, scale, lines);

	GenRngInit(&g->rng_products, g->seed * 8 + 1);
	GenRngInit(&g->rng_customers, g->seed * 8 + 2);
	GenRngInit(&g->rng_sales, g->seed * 8 + 3);
	GenRngInit(&g->rng_losses, g->seed * 8 + 4);
	GenRngInit(&g->rng_dirt, g->seed * 8 + 5);

	g->first_day = GenDaysFromCivil(2023, 1, 1);
	g->ndays = GenDaysFromCivil(2024, 12, 31) - g->first_day + 1;
	g->campaign_of_day = xmalloc(sizeof(int) * (size_t) g->ndays);
	g->sale_days = xmalloc((size_t) g->ndays);
	g->loss_days = xmalloc((size_t) g->ndays);
	for (i = 0; i < g->ndays; i++)
		g->campaign_of_day[i] = -1;
	for (i = 0; i < MKWB_NCAMPAIGNS; i++)
	{
		const CampaignDef *c = &campaigns[i];
		int32_t		d;

		g->campaign_start[i] = GenDaysFromCivil(c->start[0], c->start[1], c->start[2]);
		g->campaign_end[i] = GenDaysFromCivil(c->end[0], c->end[1], c->end[2]);
		for (d = g->campaign_start[i]; d <= g->campaign_end[i]; d++)
			g->campaign_of_day[d - g->first_day] = i;
	}
	g->next_ticket = 100001;
	g->next_loss_ref = 1;

	make_products(g);
	make_customers(g);
	for (i = 0; i < MKWB_NRULES; i++)
	{
		g->rule_ante[i][0] = find_product(g, rules[i].antecedent[0]);
		g->rule_ante[i][1] = rules[i].antecedent[1] ? find_product(g, rules[i].antecedent[1]) : -1;
		g->rule_cons[i] = find_product(g, rules[i].consequent);
	}

	options.constant_memory = g->constant_memory ? LXW_TRUE : LXW_FALSE;
	options.use_zip64 = LXW_TRUE;
	g->wb = workbook_new_opt(xlsx_path, &options);
	if (g->wb == NULL)
		die("could not create the workbook", xlsx_path);
	for (i = 0; i < SH_COUNT; i++)
	{
		g->ws[i] = workbook_add_worksheet(g->wb, sheet_defs[i].name[g->lang]);
		if (g->ws[i] == NULL)
			die("could not add a sheet", sheet_defs[i].name[g->lang]);
	}
	/* a fixed creation time makes the file byte-for-byte reproducible */
	properties.title = "MegaMarket";
	properties.author = "mkworkbook " MKWB_VERSION;
	properties.created = 1735689600;	/* 2025-01-01 00:00:00 UTC */
	ok(workbook_set_properties(g->wb, &properties));
	g->fmt_header = workbook_add_format(g->wb);
	format_set_bold(g->fmt_header);
	g->fmt_date = workbook_add_format(g->wb);
	format_set_num_format(g->fmt_date, "dd/mm/yyyy");
	g->fmt_money = workbook_add_format(g->wb);
	format_set_num_format(g->fmt_money, "#,##0.00");
	g->fmt_blank = workbook_add_format(g->wb);
	format_set_bg_color(g->fmt_blank, LXW_COLOR_YELLOW);

	write_stores(g);
	write_products(g);
	write_customers(g);
	write_campaigns(g);
	write_sales(g);
	write_losses(g);
	ok(workbook_close(g->wb));
	write_manifest(g, manifest_path);
	return 0;
}
