/*
 * chain.h
 *		The Ethereum chain library: Keccak-256, hex, 256-bit integers, keys and
 *		addresses (EIP-55), RLP, the ABI of the loyalty contract's calls,
 *		EIP-1559 (type 2) and legacy EIP-155 transactions signed with
 *		libsecp256k1 (recoverable, low-s, RFC 6979), and a JSON-RPC client over
 *		libcurl. No backend headers: the SQL functions and the dispatcher
 *		(through chain_pg.h), the vector and differential tests, the sanitizer
 *		build and the fuzzers all build on this API (as src/xlsx/xlsx.h).
 *
 *	  keccak.c	Keccak-256 (the pre-standard padding Ethereum uses), hex
 *	  rlp.c		RLP encoder and strict (canonical) decoder, ChainBuf
 *	  abi.c		uint256 helpers, ABI call encoding, uint256 / revert decoding
 *	  tx.c		keys, addresses, EIP-55, transaction signing and decoding
 *	  rpc.c		JSON-RPC over libcurl, and the response decoder
 *	  chain_pg.c the backend adapter (ChainError -> SQLSTATE, in one place)
 *
 * Memory: variable-sized results (encoded calls, raw transactions, RPC
 * buffers) are allocated through ChainEnv, whose alloc never throws (it
 * returns NULL; the backend passes palloc_extended(..., MCXT_ALLOC_NO_OOM)),
 * because it runs inside libcurl's callbacks. Fixed-size results (hashes,
 * addresses, signatures) go into caller buffers.
 *
 * Keys: a private key lives only in a caller-owned uint8_t[32]; this library
 * copies it nowhere but to the stack of the signing call, wipes those copies
 * (explicit_bzero) before returning, and never puts key bytes or key text in
 * a ChainError. The caller wipes its own buffer (ChainWipe) when done.
 *
 * Errors: functions that can fail take a ChainError and return false / NULL;
 * its code says the class of problem (mapped to a SQLSTATE by chain_pg.c
 * only) and its message names the place. Never an exit, abort or print.
 */
#ifndef MEGAMARKET_CHAIN_H
#define MEGAMARKET_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ----------------------------------------------------------------
 * Environment and errors
 * ---------------------------------------------------------------- */

typedef enum ChainErrorCode
{
	CHAIN_OK = 0,
	CHAIN_ERR_ARGUMENT,			/* a bad argument: bad hex, a value out of range,
								 * a wrong length (22023 invalid_parameter_value) */
	CHAIN_ERR_ADDRESS,			/* not an address, or a mixed-case address whose
								 * EIP-55 checksum is wrong (22P02) */
	CHAIN_ERR_KEY,				/* a private key that is not 32 bytes of hex or
								 * not a valid secp256k1 scalar (22023; the
								 * message never shows the key) */
	CHAIN_ERR_DECODE,			/* bytes that do not decode: non-canonical or
								 * truncated RLP, short ABI data (22P03) */
	CHAIN_ERR_CONNECT,			/* could not connect to the node: refused, DNS,
								 * TLS (08001; libcurl's text in detail) */
	CHAIN_ERR_TIMEOUT,			/* connect or request timeout (08006) */
	CHAIN_ERR_HTTP,				/* the node answered an HTTP status other than
								 * 200 (08P01 protocol_violation) */
	CHAIN_ERR_PROTOCOL,			/* the body is not a JSON-RPC response: not
								 * JSON, wrong id, neither result nor error
								 * (08P01) */
	CHAIN_ERR_NODE,				/* the node answered a JSON-RPC error object;
								 * node_kind/node_code say which (38000
								 * external_routine_exception; see
								 * ChainNodeErrorKind) */
	CHAIN_ERR_REVERT,			/* a call reverted; message carries the reason
								 * (38000) */
	CHAIN_ERR_LIMIT,			/* a size limit: response over max_response_bytes,
								 * an RLP item over its bound (54000) */
	CHAIN_ERR_CANCELED,			/* env->interrupted said so: the adapter lets
								 * CHECK_FOR_INTERRUPTS raise the real error */
	CHAIN_ERR_NOMEM,			/* the allocator returned NULL (53200) */
	CHAIN_ERR_INTERNAL			/* cannot happen: a libsecp256k1 or libcurl call
								 * failed that should not (XX000) */
} ChainErrorCode;

/*
 * A node's JSON-RPC error, classified once from its code and message (the
 * texts differ between geth, anvil, erigon, nethermind, besu; rpc.c knows
 * them). The dispatcher decides on the kind, never on the message text.
 */
typedef enum ChainNodeErrorKind
{
	CHAIN_NODE_NONE = 0,		/* not a node error */
	CHAIN_NODE_OTHER,			/* anything not below */
	CHAIN_NODE_NONCE_TOO_LOW,	/* "nonce too low": the nonce is used (settle by
								 * looking up the receipt of the stored hash) */
	CHAIN_NODE_ALREADY_KNOWN,	/* "already known" / "already imported" /
								 * "transaction already exists": this exact
								 * transaction is pending: harmless */
	CHAIN_NODE_UNDERPRICED,		/* "replacement transaction underpriced" (also
								 * "transaction underpriced", "max fee per gas
								 * less than block base fee") */
	CHAIN_NODE_INSUFFICIENT_FUNDS,	/* "insufficient funds for gas * price + value" */
	CHAIN_NODE_NONCE_TOO_HIGH,	/* "nonce too high" (nodes that refuse gaps) */
	CHAIN_NODE_REVERTED,		/* "execution reverted" (eth_call, eth_estimateGas);
								 * data holds the revert bytes as hex */
	CHAIN_NODE_GAS,				/* "intrinsic gas too low", "exceeds block gas
								 * limit", "out of gas" */
	CHAIN_NODE_CHAIN_ID,		/* "invalid chain id" / "chain id mismatch" /
								 * "invalid sender" */
	CHAIN_NODE_METHOD,			/* -32601 method not found */
	CHAIN_NODE_PARAMS,			/* -32602 invalid params, -32700 parse error,
								 * -32600 invalid request */
	CHAIN_NODE_LIMIT			/* -32005 rate limit / "too many requests" */
} ChainNodeErrorKind;

typedef struct ChainError
{
	ChainErrorCode code;
	ChainNodeErrorKind node_kind;	/* for CHAIN_ERR_NODE */
	int64_t		node_code;		/* the JSON-RPC error code, for CHAIN_ERR_NODE */
	char		message[256];	/* lower case, no final period, names the place */
	char		detail[512];	/* whole sentences, or empty */
	char		hint[256];		/* what to do, or empty */
} ChainError;

/*
 * What the caller provides. alloc returns NULL on failure and never throws;
 * interrupted may be NULL; ctx is passed to each. The limits apply to the
 * RPC client (0: the default in brackets). An RPC handle keeps a pointer to
 * its env: the env must outlive it.
 */
typedef struct ChainEnv
{
	void	   *(*alloc) (void *ctx, size_t size);
	void	   *(*realloc) (void *ctx, void *ptr, size_t size);
	void		(*free) (void *ctx, void *ptr);
	bool		(*interrupted) (void *ctx);
	void	   *ctx;
	size_t		max_response_bytes; /* a JSON-RPC response body [64 MB] */
	long		connect_timeout_ms; /* TCP + TLS connect [10 s] */
	long		timeout_ms;		/* a whole request [30 s] */
} ChainEnv;

/* A ChainEnv on malloc/realloc/free, no interrupt check, default limits. */
extern void ChainEnvInitMalloc(ChainEnv *env);

/* Fill err (printf-style message; detail and hint empty). Returns false. */
extern bool ChainSetError(ChainError *err, ChainErrorCode code, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

/* Wipe a buffer that held key material (explicit_bzero, never optimised out). */
extern void ChainWipe(void *p, size_t n);

/* ----------------------------------------------------------------
 * Growable byte buffer (encoders write here)
 * ---------------------------------------------------------------- */

/*
 * A byte buffer on env's allocator. Appends never fail loudly: on allocation
 * failure or past max_len the buffer is marked failed and later appends do
 * nothing; ChainBufCheck turns that into an error once, at the end.
 */
typedef struct ChainBuf
{
	uint8_t    *data;
	size_t		len;
	size_t		cap;
	size_t		max_len;		/* 0: SIZE_MAX / 2 */
	bool		failed;			/* an append could not be done */
	bool		nomem;			/* ... because the allocator said no */
	const ChainEnv *env;
} ChainBuf;

extern void ChainBufInit(ChainBuf *buf, const ChainEnv *env);
extern void ChainBufFree(ChainBuf *buf);	/* frees data; buf can be reused */
extern void ChainBufReset(ChainBuf *buf);	/* len = 0, keeps the memory */
extern void ChainBufAppend(ChainBuf *buf, const void *p, size_t n);
/* false (and err filled: NOMEM or LIMIT naming what) if an append failed */
extern bool ChainBufCheck(const ChainBuf *buf, const char *what, ChainError *err);

/* ----------------------------------------------------------------
 * Keccak-256 and hex (keccak.c)
 * ---------------------------------------------------------------- */

#define CHAIN_HASH_LEN	32

typedef struct ChainKeccak
{
	uint64_t	st[25];
	size_t		pos;			/* bytes absorbed into the current block */
} ChainKeccak;

/* Keccak-256 as Ethereum uses it (padding 0x01, not SHA3-256's 0x06). */
extern void ChainKeccakInit(ChainKeccak *k);
extern void ChainKeccakUpdate(ChainKeccak *k, const void *data, size_t len);
extern void ChainKeccakFinal(ChainKeccak *k, uint8_t out[CHAIN_HASH_LEN]);
extern void ChainKeccak256(const void *data, size_t len, uint8_t out[CHAIN_HASH_LEN]);

/*
 * Lower-case hex of len bytes into out (2 * len + 3 bytes: "0x" when prefix,
 * the digits, NUL). Returns out.
 */
extern char *ChainHexEncode(const uint8_t *data, size_t len, char *out, bool prefix);

/*
 * Decode hex text (an optional "0x"/"0X", then an even number of digits of
 * either case) into out. Fails (CHAIN_ERR_ARGUMENT, naming what) on an odd
 * count, a non-hex character (its position) or more than outcap bytes.
 * *outlen gets the byte count.
 */
extern bool ChainHexDecode(const char *text, size_t len, uint8_t *out, size_t outcap,
						   size_t *outlen, const char *what, ChainError *err);

/* ----------------------------------------------------------------
 * 256-bit unsigned integers (abi.c)
 * ---------------------------------------------------------------- */

/* Big-endian, as in the ABI and (without leading zeros) in RLP. */
typedef struct ChainU256
{
	uint8_t		be[32];
} ChainU256;

#define CHAIN_U256_DEC_LEN	79	/* 78 digits + NUL */

extern void ChainU256FromU64(ChainU256 *out, uint64_t v);
/* false if the value does not fit in 64 bits */
extern bool ChainU256ToU64(const ChainU256 *v, uint64_t *out);
extern bool ChainU256IsZero(const ChainU256 *v);
extern int	ChainU256Cmp(const ChainU256 *a, const ChainU256 *b);
/* a + b, a * m (small m); false on overflow past 2^256 - 1 */
extern bool ChainU256Add(ChainU256 *out, const ChainU256 *a, const ChainU256 *b);
extern bool ChainU256MulU64(ChainU256 *out, const ChainU256 *a, uint64_t m);

/*
 * Parse a decimal ("123", no sign, no spaces, at most 78 digits) or, with a
 * "0x" prefix, a hex quantity ("0x0", "0x1a"; leading zeros accepted) into a
 * ChainU256. CHAIN_ERR_ARGUMENT naming what on anything else or overflow.
 */
extern bool ChainU256Parse(const char *text, size_t len, ChainU256 *out,
						   const char *what, ChainError *err);
/* Decimal text into out (CHAIN_U256_DEC_LEN bytes). Returns out. */
extern char *ChainU256ToDecimal(const ChainU256 *v, char *out);
/* JSON-RPC quantity: "0x" + lower-case hex without leading zeros ("0x0"). */
extern char *ChainU256ToQuantity(const ChainU256 *v, char out[67]);

/* A JSON-RPC quantity ("0x1a") as uint64; CHAIN_ERR_PROTOCOL/ARGUMENT if not. */
extern bool ChainParseQuantityU64(const char *text, size_t len, uint64_t *out,
								  const char *what, ChainError *err);

/* ----------------------------------------------------------------
 * Keys and addresses (tx.c)
 * ---------------------------------------------------------------- */

#define CHAIN_KEY_LEN		32
#define CHAIN_ADDRESS_LEN	20
#define CHAIN_ADDRESS_TEXT_LEN	43	/* "0x" + 40 + NUL */

/*
 * A private key from its text (a key file's content): optional surrounding
 * whitespace and newline, optional "0x", exactly 64 hex digits, a valid
 * secp256k1 scalar (0 < k < n). On failure key is wiped and err says what is
 * wrong (length, a bad character's position, out of range), never the text.
 * The text is the caller's to wipe (ChainWipe) once parsed.
 */
extern bool ChainKeyParse(const char *text, size_t len, uint8_t key[CHAIN_KEY_LEN],
						  ChainError *err);

/* The address of a private key: keccak256(uncompressed pubkey)[12..32]. */
extern bool ChainKeyAddress(const uint8_t key[CHAIN_KEY_LEN],
							uint8_t addr[CHAIN_ADDRESS_LEN], ChainError *err);

/* EIP-55 mixed-case checksum text of an address ("0x" + 40, NUL). */
extern char *ChainAddressToText(const uint8_t addr[CHAIN_ADDRESS_LEN],
								char out[CHAIN_ADDRESS_TEXT_LEN]);

/*
 * Parse an address: "0x" (required) and 40 hex digits. All lower case or all
 * upper case is accepted as unchecksummed (EIP-55 says so); mixed case must
 * be the EIP-55 checksum, else CHAIN_ERR_ADDRESS (the detail gives the
 * correctly checksummed form's first differing position, not the full
 * address). require_checksum: reject unchecksummed forms too (an address
 * with no letters is always accepted).
 */
extern bool ChainAddressParse(const char *text, size_t len,
							  uint8_t addr[CHAIN_ADDRESS_LEN],
							  bool require_checksum, ChainError *err);

/* The address of a contract created by sender with nonce (CREATE). */
extern void ChainContractAddress(const uint8_t sender[CHAIN_ADDRESS_LEN], uint64_t nonce,
								 uint8_t out[CHAIN_ADDRESS_LEN]);

/* ----------------------------------------------------------------
 * RLP (rlp.c)
 * ---------------------------------------------------------------- */

/* Encoders: append one item to buf. */
extern void ChainRlpPutBytes(ChainBuf *buf, const uint8_t *p, size_t n);
extern void ChainRlpPutU64(ChainBuf *buf, uint64_t v);	/* 0 -> 0x80 */
extern void ChainRlpPutU256(ChainBuf *buf, const ChainU256 *v);	/* minimal */

/*
 * A list: ChainRlpBeginList returns a mark; encode the items; then
 * ChainRlpEndList(buf, mark) inserts the list header before them.
 */
extern size_t ChainRlpBeginList(ChainBuf *buf);
extern void ChainRlpEndList(ChainBuf *buf, size_t mark);

/* One decoded item: a string's bytes or a list's payload (encoded items). */
typedef struct ChainRlpItem
{
	bool		is_list;
	const uint8_t *data;		/* points into the input */
	size_t		len;
} ChainRlpItem;

/*
 * Decode the item at the start of in[0..len): strictly canonical (a single
 * byte < 0x80 must not be wrapped, lengths without leading zeros, long forms
 * only for 56+ bytes), never reading past len. *used gets the item's total
 * encoded size. CHAIN_ERR_DECODE naming the offset otherwise.
 */
extern bool ChainRlpDecode(const uint8_t *in, size_t len, ChainRlpItem *item,
						   size_t *used, ChainError *err);

/*
 * Iterate a list's payload: *pos starts at 0; returns false at the end (err
 * code CHAIN_OK) or on a bad item (err filled).
 */
extern bool ChainRlpNext(const ChainRlpItem *list, size_t *pos, ChainRlpItem *item,
						 ChainError *err);

/* A string item as an integer (canonical: no leading zero byte, <= 32 bytes) */
extern bool ChainRlpToU256(const ChainRlpItem *item, ChainU256 *out, ChainError *err);
extern bool ChainRlpToU64(const ChainRlpItem *item, uint64_t *out, ChainError *err);

/* ----------------------------------------------------------------
 * ABI (abi.c): calls of the loyalty contract, and results
 * ---------------------------------------------------------------- */

#define CHAIN_SELECTOR_LEN	4

/* keccak256(signature)[0..4], e.g. "awardPoints(address,uint256)". */
extern void ChainAbiSelector(const char *signature, uint8_t out[CHAIN_SELECTOR_LEN]);

/*
 * Generic encoder for calls whose arguments are all static words: begin with
 * the function's signature, then one put per argument in order.
 */
extern void ChainAbiBegin(ChainBuf *buf, const char *signature);
extern void ChainAbiPutAddress(ChainBuf *buf, const uint8_t addr[CHAIN_ADDRESS_LEN]);
extern void ChainAbiPutU256(ChainBuf *buf, const ChainU256 *v);
extern void ChainAbiPutU64(ChainBuf *buf, uint64_t v);
extern void ChainAbiPutBool(ChainBuf *buf, bool v);

/* The loyalty contract's calls (each appends selector + arguments to buf). */
extern void ChainAbiRegisterCustomer(ChainBuf *buf, const uint8_t customer[CHAIN_ADDRESS_LEN]);
extern void ChainAbiAwardPoints(ChainBuf *buf, const uint8_t customer[CHAIN_ADDRESS_LEN],
								const ChainU256 *amount);
/* awardPointsBatch(address[],uint256[]): n customers and n amounts */
extern void ChainAbiAwardPointsBatch(ChainBuf *buf,
									 const uint8_t (*customers)[CHAIN_ADDRESS_LEN],
									 const ChainU256 *amounts, size_t n);
/* redeemPoints(uint256): signed by the customer (msg.sender redeems) */
extern void ChainAbiRedeemPoints(ChainBuf *buf, const ChainU256 *points);
extern void ChainAbiGetPointsBalance(ChainBuf *buf, const uint8_t customer[CHAIN_ADDRESS_LEN]);

/*
 * Decode word index of a call's return data as uint256 (getPointsBalance's
 * result is word 0). CHAIN_ERR_DECODE if the data is shorter.
 */
extern bool ChainAbiDecodeU256(const uint8_t *data, size_t len, size_t index,
							   ChainU256 *out, ChainError *err);
/* The same word as an address (the top 12 bytes must be zero). */
extern bool ChainAbiDecodeAddress(const uint8_t *data, size_t len, size_t index,
								  uint8_t out[CHAIN_ADDRESS_LEN], ChainError *err);

/* What a revert's data says. */
typedef enum ChainRevertKind
{
	CHAIN_REVERT_EMPTY,			/* no data: revert() or require(cond) */
	CHAIN_REVERT_ERROR,			/* Error(string): reason holds the string */
	CHAIN_REVERT_PANIC,			/* Panic(uint256): panic_code (0x11 overflow...) */
	CHAIN_REVERT_CUSTOM,		/* a custom error: selector (args not decoded) */
	CHAIN_REVERT_MALFORMED		/* Error/Panic selector with bad encoding */
} ChainRevertKind;

typedef struct ChainRevert
{
	ChainRevertKind kind;
	uint64_t	panic_code;
	uint8_t		selector[CHAIN_SELECTOR_LEN];
	/*
	 * Readable text for every kind, NUL-terminated: the reason string (bytes
	 * that are not printable UTF-8 shown as \xNN, cut with "..." past the
	 * buffer), "panic 0x11 (arithmetic overflow)", "custom error 0x12345678",
	 * "no reason given".
	 */
	char		reason[512];
} ChainRevert;

/* Decode revert data (never fails: unknown shapes are CUSTOM/MALFORMED). */
extern void ChainAbiDecodeRevert(const uint8_t *data, size_t len, ChainRevert *out);

/* ----------------------------------------------------------------
 * Transactions (tx.c)
 * ---------------------------------------------------------------- */

typedef enum ChainTxType
{
	CHAIN_TX_LEGACY = 0,		/* EIP-155: v = chain_id * 2 + 35 + y */
	CHAIN_TX_EIP1559 = 2		/* 0x02 || rlp([...]), empty access list */
} ChainTxType;

typedef struct ChainTx
{
	ChainTxType type;
	uint64_t	chain_id;		/* > 0 */
	uint64_t	nonce;
	ChainU256	gas_price;		/* legacy only */
	ChainU256	max_priority_fee_per_gas;	/* type 2 only */
	ChainU256	max_fee_per_gas;	/* type 2 only */
	uint64_t	gas_limit;
	bool		has_to;			/* false: contract creation (data is initcode) */
	uint8_t		to[CHAIN_ADDRESS_LEN];
	ChainU256	value;
	const uint8_t *data;		/* calldata; may be NULL when data_len is 0 */
	size_t		data_len;
} ChainTx;

typedef struct ChainSignedTx
{
	uint8_t    *raw;			/* the bytes for eth_sendRawTransaction, on
								 * env's allocator (ChainSignedTxFree) */
	size_t		raw_len;
	uint8_t		hash[CHAIN_HASH_LEN];	/* keccak256(raw): the tx hash */
	uint8_t		r[32];
	uint8_t		s[32];			/* low-s (s <= n/2) */
	uint8_t		y_parity;		/* 0 or 1 */
	uint64_t	v;				/* legacy: chain_id * 2 + 35 + y_parity;
								 * type 2: y_parity */
} ChainSignedTx;

/*
 * The digest that is signed: keccak256 of the unsigned encoding (legacy:
 * rlp([nonce, gasPrice, gas, to, value, data, chainId, 0, 0]); type 2:
 * keccak256(0x02 || rlp([chainId, nonce, maxPriority, maxFee, gas, to,
 * value, data, []]))). CHAIN_ERR_ARGUMENT on chain_id 0 or, for type 2,
 * max_priority_fee_per_gas > max_fee_per_gas.
 */
extern bool ChainTxSigningHash(const ChainEnv *env, const ChainTx *tx,
							   uint8_t out[CHAIN_HASH_LEN], ChainError *err);

/*
 * Sign tx with key: RFC 6979 deterministic, low-s, recoverable (so the same
 * inputs give the same bytes as any other correct implementation), encode
 * the signed transaction and hash it. On failure out->raw is NULL.
 */
extern bool ChainSignTx(const ChainEnv *env, const ChainTx *tx,
						const uint8_t key[CHAIN_KEY_LEN],
						ChainSignedTx *out, ChainError *err);
extern void ChainSignedTxFree(const ChainEnv *env, ChainSignedTx *stx);

/*
 * Decode a raw signed transaction (either type): fields into tx (tx->data
 * points into raw), the signature into sig (sig->raw = NULL; hash computed),
 * and the sender recovered from the signature into from (may be NULL).
 * Strict: canonical RLP, no trailing bytes, low-s, v consistent with the
 * chain id. CHAIN_ERR_DECODE otherwise. The fuzzers drive this.
 */
extern bool ChainTxDecode(const uint8_t *raw, size_t len, ChainTx *tx, ChainSignedTx *sig,
						  uint8_t from[CHAIN_ADDRESS_LEN], ChainError *err);

/*
 * Bare libsecp256k1 signing of a 32-byte digest (recoverable, low-s): the
 * floor the benchmark compares complete transaction signing against.
 */
extern bool ChainSignDigest(const uint8_t digest[CHAIN_HASH_LEN],
							const uint8_t key[CHAIN_KEY_LEN],
							uint8_t sig64[64], int *recid, ChainError *err);

/* ----------------------------------------------------------------
 * JSON-RPC (rpc.c)
 * ---------------------------------------------------------------- */

/*
 * One JSON-RPC answer. Strings point into memory of the handle (or the
 * decoder's arena) and stay valid until ChainRpcReleaseReplies or
 * ChainRpcDestroy: a caller may send a long batch in chunks and read all the
 * replies afterwards. Exactly one of result and error_message is non-NULL.
 */
typedef struct ChainRpcReply
{
	int64_t		id;
	/* success */
	const char *result;			/* raw JSON text of "result" ("0x7a69", null,
								 * {...}), NUL-terminated, for jsonb_in */
	size_t		result_len;
	const char *result_string;	/* if result is a JSON string: its value,
								 * unescaped; else NULL */
	/* node error */
	ChainNodeErrorKind error_kind;	/* CHAIN_NODE_NONE on success */
	int64_t		error_code;
	const char *error_message;	/* unescaped */
	const char *error_data;		/* raw JSON text of "data", or NULL */
	const char *error_data_string;	/* "data" unescaped when a string (revert
									 * data "0x08c379a0..."), else NULL */
} ChainRpcReply;

typedef struct ChainRpc ChainRpc;

/*
 * A client for url (http:// or https:// only), with one libcurl easy handle
 * reused for every call (keep-alive), the env's timeouts, and a progress
 * callback that stops a transfer when env->interrupted says so. Creating it
 * does not connect. CHAIN_ERR_ARGUMENT on a URL that is not http(s).
 */
extern ChainRpc *ChainRpcCreate(const ChainEnv *env, const char *url, ChainError *err);
extern void ChainRpcDestroy(ChainRpc *rpc);

/*
 * The URL as it may be shown in messages: scheme://host[:port], without user
 * info, path or query (providers put API keys there).
 */
extern const char *ChainRpcDisplayUrl(const ChainRpc *rpc);

/*
 * Connections libcurl has opened for this handle so far (1 while keep-alive
 * holds): for tests and the dispatcher's log.
 */
extern long ChainRpcConnectCount(const ChainRpc *rpc);

/*
 * Call method with params (JSON text of an array, e.g. "[\"0x..\", \"latest\"]";
 * NULL: []). Returns false with err filled on transport or protocol failure
 * (CONNECT, TIMEOUT, HTTP, PROTOCOL, LIMIT, CANCELED, NOMEM); returns true
 * when the node answered, with a node error in reply->error_* (classified in
 * error_kind): for the dispatcher a node error is data, not a failure.
 */
extern bool ChainRpcCall(ChainRpc *rpc, const char *method, const char *params,
						 ChainRpcReply *reply, ChainError *err);

/*
 * n calls in one HTTP request (a JSON-RPC batch); replies[i] answers
 * methods[i]/params[i] whatever order the node answered in. A missing or
 * duplicated answer is CHAIN_ERR_PROTOCOL.
 */
extern bool ChainRpcBatch(ChainRpc *rpc, size_t n, const char *const *methods,
						  const char *const *params, ChainRpcReply *replies,
						  ChainError *err);

/*
 * Free the replies of every call so far (their strings become invalid). A
 * handle that lives long (a worker's, a backend's cache) calls this when it
 * is done with them; otherwise they are freed with the handle.
 */
extern void ChainRpcReleaseReplies(ChainRpc *rpc);

/* Turn a node error reply into err (CHAIN_ERR_NODE or, for reverts with
 * data, CHAIN_ERR_REVERT with the decoded reason). method names the call. */
extern void ChainRpcReplyError(const ChainRpcReply *reply, const char *method,
							   ChainError *err);

/* Classify a node error from its code and message (used by the decoder). */
extern ChainNodeErrorKind ChainClassifyNodeError(int64_t code, const char *message);

/*
 * The response decoder, without the network: parse body[0..len) as one
 * JSON-RPC response (batch: an array of n, ids first_id .. first_id + n - 1)
 * into replies, copying strings into arena (reset first; replies point into
 * it). Strict JSON (RFC 8259): any syntax error, a wrong "jsonrpc", an id
 * that does not match, both or neither of result and error, or nesting
 * deeper than 64 is CHAIN_ERR_PROTOCOL naming the offset. The fuzzer drives
 * this.
 */
extern bool ChainRpcDecode(const char *body, size_t len, int64_t first_id, size_t n,
						   bool batch, ChainRpcReply *replies, ChainBuf *arena,
						   ChainError *err);

#endif							/* MEGAMARKET_CHAIN_H */
