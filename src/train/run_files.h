/*
 * run_files.h - the trainer's own files in its folders, beside the training
 * loop: the loss log kept in step with the checkpoint, and what a killed run
 * left behind.  Internal to src/train.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_TRAIN_RUN_FILES_H
#define TTS_TRAIN_RUN_FILES_H

#include <stdio.h>

#include "train/trainer.h"

/* Open STATE/log.tsv for appending, first cutting off its rows of steps after
 * `step` (those of a run that went on past its last checkpoint, which the
 * resumed run writes again).  Never through a symbolic link.  NULL (errno
 * set) when it cannot be opened. */
FILE *run_log_open(const char *state_dir, long step);

/* Remove the temporary files a killed run of ours left: ".NAME.PID.XXXXXX.part"
 * of processes that are gone (safe_file.h) in the state, plots, models and
 * voices folders, and the names of older versions (ckpt.safetensors.tmpPID,
 * features.bin.tmp, NAME.safetensors.tmpPID, NAME.json.tmp, plots/ *.png.tmp)
 * when untouched for an hour.  Says on log how many it removed. */
void run_clean_stale(const trainer_opts *o, FILE *log);

#endif
