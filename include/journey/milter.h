/*
 * milter.h: the libmilter callbacks.
 *
 * milter.c holds the callbacks and the per-connection and per-message
 * contexts, nothing else: the work on a message is jm_process()'s.
 */
#ifndef JOURNEY_MILTER_H
#define JOURNEY_MILTER_H

struct jm_store;

/*
 * The store every message is committed to; borrowed for the life of the
 * process.  NULL (the default) processes messages without state.
 */
void	jm_milter_set_store(struct jm_store *s);

/* Registers the callbacks with libmilter; 0 or -1. */
int	jm_milter_register(void);

#endif
