/* phi.h: the phi accrual failure detector (Hayashibara, Defago, Yared, Katayama, SRDS 2004).
 *
 * Instead of a boolean "suspected", the detector outputs a suspicion level
 *
 *     phi(t) = -log10(P_later(t - t_last))
 *
 * where P_later(d) is the probability that a heartbeat arrives more than d after the last one,
 * under a normal distribution fitted to the recent inter-arrival times (a bounded window).
 * phi = 1 means a 10% chance that the peer is still alive and merely late, phi = 2 a 1% chance,
 * and so on; the application picks the threshold (8 is a common choice). As in Akka's version,
 * an acceptable pause is added to the mean and the standard deviation has a floor, so that a
 * perfectly regular heartbeat does not make the detector infinitely sensitive.
 *
 * Pure and deterministic: times are passed in; no clock is read. Cost: heartbeat O(1),
 * phi O(1); memory: window * 8 bytes. */
#ifndef FAULTLINE_PHI_H
#define FAULTLINE_PHI_H

#include "faultline/types.h"

#define FL_PHI_WINDOW_MAX 100000
#define FL_PHI_MAX        1000.0 /* the value reported when P_later underflows */

typedef struct fl_phi_config {
    uint32_t window;              /* inter-arrival samples kept, 1..FL_PHI_WINDOW_MAX */
    fl_time_ns min_std_ns;        /* floor of the standard deviation (> 0) */
    fl_time_ns pause_ns;          /* acceptable pause, added to the mean */
    fl_time_ns first_interval_ns; /* assumed interval before the second heartbeat (> 0) */
    double threshold;             /* fl_phi_suspect: phi >= threshold */
} fl_phi_config;

typedef struct fl_phi {
    fl_phi_config cfg;
    double *win; /* inter-arrival times in ns, a ring */
    uint32_t count, next;
    uint32_t since_recompute;
    double sum, sumsq;
    fl_time_ns last_ns;
    bool have_last;
} fl_phi;

/* Defaults: window 1000, min std 100 ms, pause 0, first interval 1 s, threshold 8. */
void fl_phi_config_default(fl_phi_config *c);
/* 0, FL_ECONFIG for a bad config, FL_ENOMEM. The caller owns d (fl_phi_free). */
int fl_phi_init(fl_phi *d, const fl_phi_config *c);
void fl_phi_free(fl_phi *d);
/* A heartbeat arrived at now_ns. Times going backwards are taken as a zero interval. */
void fl_phi_heartbeat(fl_phi *d, fl_time_ns now_ns);
/* The suspicion level at now_ns: 0 before the first heartbeat, up to FL_PHI_MAX. */
double fl_phi_value(const fl_phi *d, fl_time_ns now_ns);
bool fl_phi_suspect(const fl_phi *d, fl_time_ns now_ns);
/* The fitted mean and standard deviation (ns), floors and pause applied. */
double fl_phi_mean_ns(const fl_phi *d);
double fl_phi_std_ns(const fl_phi *d);
/* -log10 of P(X > x) for X ~ N(mean, std): the formula itself, for tests and plots. */
double fl_phi_of(double x, double mean, double std);

#endif
