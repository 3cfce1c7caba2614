/* fuzz_config.c: libFuzzer target for the server's configuration file
 * (src/server/config.c on libfyaml). The input is written to a memory file
 * and read as server.yml; any input must end in 0 or an error with a
 * message (FILE:LINE:COL), never a crash, a leak or a hang. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "server/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	server_config c;
	core_err err = {0};
	int fd = memfd_create("server.yml", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	server_config_init(&c);
	if (server_config_file(&c, path, &err) != 0 && err.msg[0] == '\0')
		abort(); /* an error must say what is wrong */
	server_config_free(&c);
	close(fd);
	return 0;
}
