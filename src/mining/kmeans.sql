-- ---------------------------------------------------------------------------
-- mining: k-means and customer segmentation (docs/mining.md)
-- ---------------------------------------------------------------------------

CREATE FUNCTION megamarket.kmeans(query text, k integer,
                                  max_iterations integer DEFAULT 300,
                                  n_init integer DEFAULT 10,
                                  seed bigint DEFAULT 0,
                                  tolerance float8 DEFAULT 1e-4,
                                  scale boolean DEFAULT false)
RETURNS TABLE (cluster integer, centroid float8[], size bigint, within_ss float8)
AS 'MODULE_PATHNAME', 'mining_kmeans'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION megamarket.kmeans(text, integer, integer, integer, bigint, float8, boolean) IS
'k-means clustering of the points a query returns, (id, float8[]) or (id, f1, f2, ...): k-means++ seeding, Lloyd iterations with Hamerly''s bounds, the best of n_init runs by total within-cluster sum of squares; one row per cluster, numbered in the lexicographic order of the centroids';

CREATE FUNCTION megamarket.kmeans_assign(point float8[], centroids float8[])
RETURNS integer
AS 'MODULE_PATHNAME', 'mining_kmeans_assign'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION megamarket.kmeans_assign(float8[], float8[]) IS
'the number (1-based) of the centroid nearest to point; centroids as array_agg(centroid ORDER BY cluster) of kmeans() makes them';

-- segment_customers: recency / frequency / monetary / basket-size features
-- per customer from the sales facts, standardised here (so that kmeans_assign reproduces
-- the clusters), clustered, written to segments "rfm-1" ... "rfm-k" (rfm-1
-- spends most) and customers.segment_id.
CREATE FUNCTION megamarket.segment_customers(k integer DEFAULT 4,
                                             as_of date DEFAULT NULL,
                                             seed bigint DEFAULT 0,
                                             n_init integer DEFAULT 10)
RETURNS TABLE (segment_id integer, name text, description text, customers bigint,
               recency_days float8, frequency float8, monetary float8, basket_lines float8)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    n_customers bigint;
    cents float8[];
    avg_r float8;
    avg_f float8;
    avg_m float8;
    avg_b float8;
    seg record;
    seg_name text;
    seg_id integer;
    descr text;
BEGIN
    IF k IS NULL OR k < 1 THEN
        RAISE EXCEPTION 'segment_customers: k must be at least 1'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('k is %s.', coalesce(k::text, 'NULL'));
    END IF;
    -- one segmentation at a time; readers of segments and customers go on
    LOCK TABLE megamarket.segments IN SHARE ROW EXCLUSIVE MODE;

    IF as_of IS NULL THEN
        SELECT max(d.date) INTO as_of
        FROM megamarket.sales s JOIN megamarket.dates d ON d.date_id = s.date_id;
    END IF;

    IF pg_catalog.to_regclass('pg_temp.mm_rfm') IS NOT NULL THEN
        DROP TABLE pg_temp.mm_rfm;
    END IF;
    CREATE TEMP TABLE mm_rfm ON COMMIT DROP AS
    SELECT s.customer_id,
           (as_of - max(d.date))::float8 AS recency,
           count(DISTINCT s.ticket_id)::float8 AS frequency,
           sum(s.amount)::float8 AS monetary,
           count(*)::float8 / count(DISTINCT s.ticket_id) AS basket,
           NULL::float8[] AS z,
           NULL::integer AS cluster
    FROM megamarket.sales s
    JOIN megamarket.dates d ON d.date_id = s.date_id
    WHERE s.customer_id IS NOT NULL AND d.date <= as_of
    GROUP BY s.customer_id;
    GET DIAGNOSTICS n_customers = ROW_COUNT;
    IF n_customers = 0 THEN
        RAISE EXCEPTION 'segment_customers: no customer has a sale on or before %', coalesce(to_char(as_of, 'YYYY-MM-DD'), 'any day')
            USING ERRCODE = 'no_data_found', HINT = 'Import sales with customers first (import_workbook).';
    END IF;

    -- features: recency in days, ln(1 + tickets), ln(1 + amount), ln(lines
    -- per ticket), each standardised (mean 0, population sd 1; a constant
    -- feature stays 0). The basket size tells a family's weekly shop from a
    -- daily shopper's, whom recency, frequency and spend alone mix up.
    WITH st AS (
        SELECT avg(recency) AS mr, stddev_pop(recency) AS sr,
               avg(ln(1 + frequency)) AS mf, stddev_pop(ln(1 + frequency)) AS sf,
               avg(ln(1 + monetary)) AS mm, stddev_pop(ln(1 + monetary)) AS sm,
               avg(ln(basket)) AS mb, stddev_pop(ln(basket)) AS sb
        FROM pg_temp.mm_rfm)
    UPDATE pg_temp.mm_rfm SET z = ARRAY[
        (recency - st.mr) / coalesce(nullif(st.sr, 0), 1),
        (ln(1 + frequency) - st.mf) / coalesce(nullif(st.sf, 0), 1),
        (ln(1 + monetary) - st.mm) / coalesce(nullif(st.sm, 0), 1),
        (ln(basket) - st.mb) / coalesce(nullif(st.sb, 0), 1)]
    FROM st;

    SELECT array_agg(c.centroid ORDER BY c.cluster) INTO cents
    FROM megamarket.kmeans('SELECT customer_id, z FROM pg_temp.mm_rfm',
                           k, seed => seed, n_init => n_init) c;
    UPDATE pg_temp.mm_rfm SET cluster = megamarket.kmeans_assign(z, cents);

    SELECT avg(r.recency), avg(r.frequency), avg(r.monetary), avg(r.basket)
    INTO avg_r, avg_f, avg_m, avg_b
    FROM pg_temp.mm_rfm r;

    -- rfm-1 ... rfm-k by mean spend, highest first; old rfm-* segments
    -- beyond k are emptied, and deleted when nothing refers to them
    UPDATE megamarket.customers c SET segment_id = NULL
    FROM megamarket.segments s
    WHERE c.segment_id = s.segment_id AND s.name LIKE 'rfm-%'
      AND NOT EXISTS (SELECT 1 FROM pg_temp.mm_rfm r WHERE r.customer_id = c.customer_id);

    FOR seg IN
        SELECT r.cluster, count(*) AS n, avg(r.recency) AS ar, avg(r.frequency) AS af,
               avg(r.monetary) AS am, avg(r.basket) AS ab,
               row_number() OVER (ORDER BY avg(r.monetary) DESC, r.cluster) AS rank
        FROM pg_temp.mm_rfm r GROUP BY r.cluster ORDER BY rank
    LOOP
        seg_name := 'rfm-' || seg.rank;
        descr := concat_ws(', ',
            CASE WHEN seg.af >= 1.5 * avg_f THEN 'frequent'
                 WHEN seg.af <= avg_f / 1.5 THEN 'occasional' ELSE 'regular' END,
            CASE WHEN seg.am >= 1.5 * avg_m THEN 'high spend'
                 WHEN seg.am <= avg_m / 1.5 THEN 'low spend' ELSE 'medium spend' END,
            CASE WHEN seg.ab >= 1.5 * avg_b THEN 'large baskets'
                 WHEN seg.ab <= avg_b / 1.5 THEN 'small baskets' ELSE 'medium baskets' END,
            CASE WHEN seg.ar <= avg_r / 1.5 THEN 'recent'
                 WHEN seg.ar >= 1.5 * avg_r THEN 'lapsed' ELSE 'lapsing' END)
            || format(' (%s customers: %s tickets of %s lines, %s spent, last purchase %s days before %s, on average)',
                      seg.n, round(seg.af::numeric, 1), round(seg.ab::numeric, 1), round(seg.am::numeric, 2),
                      round(seg.ar::numeric), to_char(as_of, 'YYYY-MM-DD'));
        INSERT INTO megamarket.segments AS s (name, description)
        VALUES (seg_name, descr)
        ON CONFLICT ON CONSTRAINT segments_name_key DO UPDATE SET description = EXCLUDED.description
        RETURNING s.segment_id INTO seg_id;

        UPDATE megamarket.customers c SET segment_id = seg_id
        FROM pg_temp.mm_rfm r
        WHERE r.customer_id = c.customer_id AND r.cluster = seg.cluster
          AND c.segment_id IS DISTINCT FROM seg_id;

        segment_id := seg_id;
        name := seg_name;
        description := descr;
        customers := seg.n;
        recency_days := seg.ar;
        frequency := seg.af;
        monetary := seg.am;
        basket_lines := seg.ab;
        RETURN NEXT;
    END LOOP;

    DELETE FROM megamarket.segments s
    WHERE s.name LIKE 'rfm-%'
      AND NOT s.name = ANY (SELECT 'rfm-' || g FROM generate_series(1, k) g)
      AND NOT EXISTS (SELECT 1 FROM megamarket.customers c WHERE c.segment_id = s.segment_id)
      AND NOT EXISTS (SELECT 1 FROM megamarket.campaigns c WHERE c.target_segment_id = s.segment_id);
    UPDATE megamarket.segments s
    SET description = 'not in the latest segmentation (segment_customers with k = ' || k || ')'
    WHERE s.name LIKE 'rfm-%'
      AND NOT s.name = ANY (SELECT 'rfm-' || g FROM generate_series(1, k) g);
    DROP TABLE pg_temp.mm_rfm;
END
$$;
COMMENT ON FUNCTION megamarket.segment_customers(integer, date, bigint, integer) IS
'clusters customers by recency, frequency, monetary value and basket size of their sales (k-means on standardised features) into segments rfm-1 ... rfm-k (rfm-1 spends most), with readable descriptions; sets customers.segment_id; safe to re-run';
REVOKE ALL ON FUNCTION megamarket.segment_customers(integer, date, bigint, integer) FROM PUBLIC;
