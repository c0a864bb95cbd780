/*
 * safe_file.h - a file replaced whole, never written through a link: the one
 * place every writer of tts (audio files, models, checkpoints, voice files,
 * the feature cache, plots) creates its output.  Internal.
 *
 * safe_file_open("DIR/NAME") creates a fresh temporary file beside it,
 * "DIR/.NAME.PID.XXXXXX.part", with O_CREAT|O_EXCL|O_NOFOLLOW: a name planted
 * in advance (a symbolic link, another file) is never opened, so nothing
 * outside the folder can be written through it.  safe_file_commit() flushes
 * the data to disk, gives the file the mode (and, where permitted, the owner)
 * of the regular file it replaces, and renames it over NAME.  A symbolic link
 * at NAME is replaced itself; its target is left alone.  (A rename cannot
 * keep hard links: the other names keep the old contents.)
 * safe_file_abort() removes the temporary file.
 *
 * A run killed (SIGKILL) between open and commit leaves its ".part" file;
 * safe_file_clean_stale() removes those of processes that no longer exist.
 *
 * Functions return 0 or -1 with errno set; they never print or exit.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_SAFE_FILE_H
#define TTS_SAFE_FILE_H

#include <stdio.h>

typedef struct safe_file {
    int fd;        /* the temporary file, open for writing; -1 when closed */
    FILE *fp;      /* safe_file_stream(): a stream over fd, owned here */
    char *tmp;     /* its name */
    char *final;   /* the name it is renamed to */
} safe_file;

/* Create the temporary file for final (a path to a file, not a folder).
 * On failure sf->fd is -1 and errno tells why (ENOENT: no such folder). */
int safe_file_open(const char *final, safe_file *sf);

/* A stdio stream ("wb") over the temporary file, kept in sf->fp and closed by
 * commit or abort; NULL (errno set) on failure. */
FILE *safe_file_stream(safe_file *sf);

/* Flush, sync, keep the old file's mode and owner, close and rename into
 * place.  On failure the temporary file is removed and the old file is left
 * as it was; errno tells why.  Frees sf's names either way. */
int safe_file_commit(safe_file *sf);

/* Close and remove the temporary file, free the names.  Safe to call on a
 * zeroed or already finished safe_file (fd -1 or tmp NULL). */
void safe_file_abort(safe_file *sf);

/* The whole of data as the new contents of final (open, write, commit). */
int safe_file_write(const char *final, const void *data, size_t n_bytes);

/* Remove, in folder dir, the temporary files of safe_file_open() left by
 * processes of this user that no longer run: only names of the form
 * ".NAME.PID.XXXXXX.part" (NAME == base when base is not NULL), regular
 * files owned by the effective user.  Returns how many were removed. */
int safe_file_clean_stale(const char *dir, const char *base);

/* safe_file_clean_stale() for the temporary files of one target path (dir
 * NULL: those of any name in the folder path). */
int safe_file_clean_stale_for(const char *path, int any_name);

/* Make sure descriptors 0, 1 and 2 are open (to /dev/null when not), so that
 * no file a program opens gets one of them: with stderr closed (`2>&-`) the
 * output file would get descriptor 2 and every warning would land in it.
 * For the programs' main(), first thing.  0, or -1 when /dev/null cannot be
 * opened. */
int safe_file_std_fds(void);

/* Whether a process id taken from a file name is gone (kill(pid, 0) says
 * ESRCH).  For the cleaning of other names of our own. */
int safe_file_pid_gone(long pid);

#endif
