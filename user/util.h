/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers every module shares: exit codes, an overflow-safe comparison, growable arrays, the
 * monotonic clock, and the names of protocols, families and addresses. Pure: no BPF, no output.
 */
#ifndef REUSETOP_UTIL_H
#define REUSETOP_UTIL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit status of every mode: bad input, missing privileges or kernel support are usage (2). */
enum rt_exit {
	RT_EXIT_OK = 0,
	RT_EXIT_RUNTIME = 1,
	RT_EXIT_USAGE = 2,
};

/* Three-way compare without subtraction, so large unsigned values cannot overflow. */
#define CMP3(a, b) (((a) > (b)) - ((a) < (b)))

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define SWAP(a, b)                             \
	do {                                   \
		__typeof__(a) swap_tmp_ = (a); \
		(a) = (b);                     \
		(b) = swap_tmp_;               \
	} while (0)

/*
 * Room for `need` elements of `size` bytes in the array *arrp points to, whose capacity is *cap:
 * grown by doubling (from 16), so appending one at a time costs amortised O(1). The array may
 * move; on failure it is untouched. Returns 0 or -ENOMEM.
 */
int reserve_array(void *arrp, size_t *cap, size_t need, size_t size);

/* CLOCK_MONOTONIC in seconds and in nanoseconds. */
double mono_s(void);
uint64_t mono_ns(void);

/*
 * Sleep until the absolute monotonic time t (seconds). Returns true when t was reached, false
 * when *stop became non-zero first (a signal ends the sleep at once) or the clock failed.
 */
bool sleep_until(double t, volatile sig_atomic_t *stop);

/* "tcp" / "udp" and "inet" / "inet6". */
const char *proto_name(uint8_t proto);
const char *family_name(uint8_t family);
/* "127.0.0.1", "::1" style formatting of a network-order address; buf of at least 48 bytes. */
const char *addr_str(uint8_t family, const uint8_t *addr, char *buf, size_t len);
/*
 * A bound endpoint: "127.0.0.1:8080", "[::1]:8080", with the bound device when there is one
 * ("127.0.0.1%lo:8080", "[::%lo]:8080"); buf of at least 80 bytes.
 */
const char *endpoint_str(uint8_t family, const uint8_t *addr, const char *dev, uint16_t port,
			 char *buf, size_t len);

/* The decimal digits of v, written backwards ending at end; returns where they start. */
char *u64_digits(char *end, uint64_t v);
/*
 * "%.*f" of a finite value without printf, when that is exact (see util.c): the text ends at
 * end, the return is where it starts; NULL when printf is needed. At most 40 bytes are written.
 */
char *fixed_exact(char *end, double value, int decimals);

#endif
