/* watch.h - the peer watch: a ring of TCP heartbeat connections beside MPI, so that a lost rank (its
 * process killed, its node dead or cut off) ends the job within seconds and is named by rank and
 * host. Without it, a rank blocked in a collective with a dead peer waits for MPI's TCP transport
 * (which retries) or for Slurm to declare the node dead (SlurmdTimeout, 30 s to 5 min); under
 * `srun` direct launch nothing else notices at all until then.
 *
 * Each rank listens on an ephemeral TCP port, learns the others' addresses by one MPI_Allgather,
 * connects to rank r+1 and accepts rank r-1 (O(1) sockets per rank at any size: a lost rank is
 * noticed by its two ring neighbours, and any set of lost ranks short of all has a live neighbour).
 * A thread sends a byte a second to both neighbours. A neighbour's connection closing without its
 * goodbye (the kernel closes a killed process's sockets), or silence for the timeout (a node that
 * lost power or network), makes the noticing rank print
 *   artistnet: rank R on HOST lost contact with rank K on HOST2 (why) ...
 * and call MPI_Abort(comm, MPI_WATCH_EXIT), so srun/mpirun end every rank of the job.
 *
 * Environment: ARTISTNET_PEER_TIMEOUT=S seconds of silence before a peer counts as lost (default 30;
 * 0 turns the watch off). Stops of the whole job (SIGSTOP, Slurm's suspend) are not losses: a rank
 * that was itself stopped restarts its silence clocks. If the ring cannot be built (no TCP route
 * between some ranks), every rank says so once and the job runs without the watch. */
#ifndef ARTISTNET_MPI_WATCH_H
#define ARTISTNET_MPI_WATCH_H
#include <mpi.h>
#include <stddef.h>

/* Exit status of a job that lost a rank (resumable with --resume, like 3). */
#define MPI_WATCH_EXIT 4

/* Collective on comm. Starts the watch when comm has more than one rank and the watch is not turned
 * off; also gathers every rank's host name. Returns 0 (also when the watch could not start: it then
 * writes a warning to stderr on rank 0). */
int mpi_watch_start(MPI_Comm comm);

/* Says goodbye to both neighbours and stops the thread (not collective; safe without a start). */
void mpi_watch_stop(void);

/* "2 hosts: node1 (ranks 0-1), node2 (ranks 2-3)" into buf, from the names gathered at start;
 * an empty string before a start or for one rank. */
void mpi_watch_placement(char *buf, size_t len);

/* Number of distinct hosts seen at start (1 before a start). */
int mpi_watch_hosts(void);
#endif
