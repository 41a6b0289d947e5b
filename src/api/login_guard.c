/* Login throttling (see login_guard.h): a small table of failure counters indexed by a keyed hash
 * of the user name or the client address, one mutex. An entry is shared by the keys that collide
 * in it, which can only make a delay come sooner, never later. */
#include "api/login_guard.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <string.h>

#include "common/clock.h"

#define SLOTS 1024

struct failures {
	uint64_t key;
	int count;
	int64_t last_ms;
};

static struct failures table[SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int hashing;
static unsigned char hash_key[crypto_shorthash_KEYBYTES];
static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init_once(void)
{
	randombytes_buf(hash_key, sizeof(hash_key));
	unsigned char pw[16];
	randombytes_buf(pw, sizeof(pw));
	if (crypto_pwhash_str(dummy_hash, (const char *)pw, sizeof(pw),
			      crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		dummy_hash[0] = 0;
}

static uint64_t key_of(char kind, const char *s)
{
	unsigned char in[300], out[crypto_shorthash_BYTES];
	size_t n = strnlen(s ? s : "", sizeof(in) - 1);
	in[0] = (unsigned char)kind;
	memcpy(in + 1, s ? s : "", n);
	crypto_shorthash(out, in, n + 1, hash_key);
	uint64_t k;
	memcpy(&k, out, sizeof(k));
	return k | 1; /* 0 marks a free entry */
}

static struct failures *entry(uint64_t key)
{
	return &table[key % SLOTS];
}

/* Seconds f still has to wait at now_ms. Called with the lock held. */
static int delay_s(const struct failures *f, uint64_t key, int64_t now_ms)
{
	if (f->key != key || f->count < LOGIN_FREE_FAILURES ||
	    now_ms - f->last_ms > LOGIN_FORGET_AFTER_S * 1000LL)
		return 0;
	int shift = f->count - LOGIN_FREE_FAILURES;
	int64_t d = shift >= 10 ? LOGIN_MAX_DELAY_S : 1LL << shift;
	if (d > LOGIN_MAX_DELAY_S)
		d = LOGIN_MAX_DELAY_S;
	int64_t left = f->last_ms + d * 1000 - now_ms;
	return left > 0 ? (int)((left + 999) / 1000) : 0;
}

int login_guard_wait_s(const char *user, const char *address)
{
	pthread_once(&once, init_once);
	uint64_t ku = key_of('u', user), ka = key_of('a', address);
	int64_t now = clock_mono_ms();
	pthread_mutex_lock(&lock);
	int wu = delay_s(entry(ku), ku, now), wa = delay_s(entry(ka), ka, now);
	pthread_mutex_unlock(&lock);
	return wu > wa ? wu : wa;
}

bool login_guard_hash_begin(void)
{
	if (atomic_fetch_add(&hashing, 1) < LOGIN_HASHES_MAX)
		return true;
	atomic_fetch_sub(&hashing, 1);
	return false;
}

void login_guard_hash_end(void)
{
	atomic_fetch_sub(&hashing, 1);
}

bool login_guard_verify(const char *stored_hash, const char *password)
{
	pthread_once(&once, init_once);
	const char *h = stored_hash ? stored_hash : dummy_hash;
	bool ok = h[0] && crypto_pwhash_str_verify(h, password, strlen(password)) == 0;
	return stored_hash && ok;
}

static void record_one(uint64_t key, bool ok, int64_t now)
{
	struct failures *f = entry(key);
	if (ok) {
		if (f->key == key)
			memset(f, 0, sizeof(*f));
		return;
	}
	if (f->key != key || now - f->last_ms > LOGIN_FORGET_AFTER_S * 1000LL)
		*f = (struct failures){.key = key};
	f->count++;
	f->last_ms = now;
}

void login_guard_record(const char *user, const char *address, bool ok)
{
	pthread_once(&once, init_once);
	int64_t now = clock_mono_ms();
	pthread_mutex_lock(&lock);
	record_one(key_of('u', user), ok, now);
	record_one(key_of('a', address), ok, now);
	pthread_mutex_unlock(&lock);
}
