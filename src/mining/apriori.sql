-- ---------------------------------------------------------------------------
-- mining: apriori (docs/mining.md, "apriori")
--
--   apriori(query, ...)             association rules X -> Y
--   frequent_itemsets(query, ...)   the frequent itemsets themselves
--   product_associations            rules over the warehouse's tickets, for BI
--   refresh_product_associations()  recomputes it
--
-- The query returns (transaction, item) rows and runs with the caller's
-- rights. Items are compared and sorted as text (bytewise, as COLLATE "C").
-- ---------------------------------------------------------------------------

CREATE FUNCTION megamarket.apriori(query text, min_support float8,
                                   min_confidence float8 DEFAULT 0.5,
                                   max_length integer DEFAULT 4,
                                   min_lift float8 DEFAULT 0,
                                   max_itemsets bigint DEFAULT 1000000)
RETURNS TABLE (antecedent text[], consequent text[], support float8,
               confidence float8, lift float8, transactions bigint)
AS 'MODULE_PATHNAME', 'mining_apriori'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION megamarket.apriori(text, float8, float8, integer, float8, bigint) IS
'association rules antecedent -> consequent over the (transaction, item) rows of a query: exactly textbook Apriori''s; min_support below 1 is a fraction of transactions, 1 or more a count';

CREATE FUNCTION megamarket.frequent_itemsets(query text, min_support float8,
                                             max_length integer DEFAULT 4,
                                             max_itemsets bigint DEFAULT 1000000)
RETURNS TABLE (itemset text[], support float8, transactions bigint)
AS 'MODULE_PATHNAME', 'mining_frequent_itemsets'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION megamarket.frequent_itemsets(text, float8, integer, bigint) IS
'the itemsets held by at least min_support of the transactions of a query''s (transaction, item) rows (below 1 a fraction, 1 or more a count), up to max_length items';

-- The demo: products bought together, over the tickets of megamarket.sales.
CREATE TABLE megamarket.product_associations (
    antecedent_skus  text[] NOT NULL,
    consequent_skus  text[] NOT NULL,
    antecedent       text[] NOT NULL,
    consequent       text[] NOT NULL,
    support          float8 NOT NULL,
    confidence       float8 NOT NULL,
    lift             float8 NOT NULL,
    tickets          bigint NOT NULL,
    PRIMARY KEY (antecedent_skus, consequent_skus)
);
COMMENT ON TABLE megamarket.product_associations IS
'association rules between products over the sales tickets, as of the last refresh_product_associations() (see product_association_refreshes)';
COMMENT ON COLUMN megamarket.product_associations.antecedent_skus IS 'the products bought (SKUs, sorted)';
COMMENT ON COLUMN megamarket.product_associations.consequent_skus IS 'the products also bought (SKUs, sorted)';
COMMENT ON COLUMN megamarket.product_associations.antecedent IS 'names of antecedent_skus, in the same order';
COMMENT ON COLUMN megamarket.product_associations.consequent IS 'names of consequent_skus, in the same order';
COMMENT ON COLUMN megamarket.product_associations.support IS 'share of tickets holding every product of both sides';
COMMENT ON COLUMN megamarket.product_associations.confidence IS 'share of the tickets holding the antecedent that also hold the consequent';
COMMENT ON COLUMN megamarket.product_associations.lift IS 'confidence divided by the consequent''s own share of tickets (1: independent)';
COMMENT ON COLUMN megamarket.product_associations.tickets IS 'tickets holding every product of both sides';

CREATE TABLE megamarket.product_association_refreshes (
    refreshed_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    from_date       date,
    to_date         date,
    min_support     float8 NOT NULL,
    min_confidence  float8 NOT NULL,
    max_length      integer NOT NULL,
    min_lift        float8 NOT NULL,
    rules           bigint NOT NULL
);
COMMENT ON TABLE megamarket.product_association_refreshes IS
'one row per refresh_product_associations(): when, over which dates, with which thresholds, how many rules';

COMMENT ON COLUMN megamarket.product_association_refreshes.refreshed_at IS 'when the refresh ran (its transaction''s start)';
COMMENT ON COLUMN megamarket.product_association_refreshes.from_date IS 'first sales date considered; NULL: from the first';
COMMENT ON COLUMN megamarket.product_association_refreshes.to_date IS 'last sales date considered; NULL: to the last';
COMMENT ON COLUMN megamarket.product_association_refreshes.min_support IS 'support threshold passed to apriori() (below 1 a share of tickets, else a count)';
COMMENT ON COLUMN megamarket.product_association_refreshes.min_confidence IS 'confidence threshold passed to apriori()';
COMMENT ON COLUMN megamarket.product_association_refreshes.max_length IS 'most products in a rule (both sides together)';
COMMENT ON COLUMN megamarket.product_association_refreshes.min_lift IS 'lift threshold passed to apriori()';
COMMENT ON COLUMN megamarket.product_association_refreshes.rules IS 'rules stored in product_associations';

SELECT pg_catalog.pg_extension_config_dump('megamarket.product_associations', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.product_association_refreshes', '');

CREATE FUNCTION megamarket.refresh_product_associations(
    min_support float8 DEFAULT 0.01,
    min_confidence float8 DEFAULT 0.2,
    max_length integer DEFAULT 3,
    min_lift float8 DEFAULT 1,
    from_date date DEFAULT NULL,
    to_date date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    q text := 'SELECT ticket_id, product_id FROM megamarket.sales';
    n bigint;
BEGIN
    IF from_date IS NOT NULL OR to_date IS NOT NULL THEN
        q := q || format(' WHERE date_id BETWEEN %s AND %s',
                         coalesce(to_char(from_date, 'YYYYMMDD'), '0'),
                         coalesce(to_char(to_date, 'YYYYMMDD'), '99991231'));
    END IF;
    DELETE FROM megamarket.product_associations;
    INSERT INTO megamarket.product_associations
        (antecedent_skus, consequent_skus, antecedent, consequent,
         support, confidence, lift, tickets)
    SELECT a.skus, c.skus, a.names, c.names,
           r.support, r.confidence, r.lift, r.transactions
    FROM megamarket.apriori(q, refresh_product_associations.min_support,
                            refresh_product_associations.min_confidence,
                            refresh_product_associations.max_length,
                            refresh_product_associations.min_lift) AS r
    CROSS JOIN LATERAL (
        SELECT array_agg(p.sku ORDER BY p.sku) AS skus,
               array_agg(p.name ORDER BY p.sku) AS names
        FROM unnest(r.antecedent) AS u(id)
        JOIN megamarket.products AS p ON p.product_id = u.id::integer) AS a
    CROSS JOIN LATERAL (
        SELECT array_agg(p.sku ORDER BY p.sku) AS skus,
               array_agg(p.name ORDER BY p.sku) AS names
        FROM unnest(r.consequent) AS u(id)
        JOIN megamarket.products AS p ON p.product_id = u.id::integer) AS c;
    GET DIAGNOSTICS n = ROW_COUNT;
    INSERT INTO megamarket.product_association_refreshes
        (from_date, to_date, min_support, min_confidence, max_length, min_lift, rules)
    VALUES (refresh_product_associations.from_date, refresh_product_associations.to_date,
            refresh_product_associations.min_support,
            refresh_product_associations.min_confidence,
            refresh_product_associations.max_length,
            refresh_product_associations.min_lift, n);
    RETURN n;
END
$$;
COMMENT ON FUNCTION megamarket.refresh_product_associations(float8, float8, integer, float8, date, date) IS
'recompute product_associations: apriori() over the tickets of megamarket.sales (optionally between two dates), with SKUs and product names; returns the number of rules';
REVOKE ALL ON FUNCTION megamarket.refresh_product_associations(float8, float8, integer, float8, date, date) FROM PUBLIC;
