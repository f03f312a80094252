/* Replays a libFuzzer corpus without libFuzzer: runs the target's
 * LLVMFuzzerTestOneInput over every file of the given folders (or files).
 * Built with the sanitizers, so a corpus entry that crashes fails ctest. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  long n;
  uint8_t *buf;
  if (f == NULL)
    return -1;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc(n > 0 ? (size_t)n : 1);
  if (buf == NULL || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
    fclose(f);
    free(buf);
    return -1;
  }
  fclose(f);
  LLVMFuzzerTestOneInput(buf, (size_t)n);
  free(buf);
  return 0;
}

static int run_path(const char *path, int *count) {
  struct stat st;
  DIR *d;
  struct dirent *e;
  char child[4096];
  if (stat(path, &st) != 0) {
    fprintf(stderr, "replay: %s: no such file or folder\n", path);
    return -1;
  }
  if (!S_ISDIR(st.st_mode)) {
    (*count)++;
    return run_file(path);
  }
  d = opendir(path);
  if (d == NULL)
    return -1;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    snprintf(child, sizeof child, "%s/%s", path, e->d_name);
    if (run_path(child, count) != 0) {
      closedir(d);
      return -1;
    }
  }
  closedir(d);
  return 0;
}

int main(int argc, char **argv) {
  int i, count = 0;
  for (i = 1; i < argc; i++)
    if (run_path(argv[i], &count) != 0)
      return 1;
  if (count == 0) {
    fprintf(stderr, "replay: empty corpus\n");
    return 1;
  }
  printf("replayed %d inputs\n", count);
  return 0;
}
