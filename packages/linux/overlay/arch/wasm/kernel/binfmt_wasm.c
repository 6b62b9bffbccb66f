// SPDX-License-Identifier: GPL-2.0-only
/*
 * Executables are static WebAssembly modules. The kernel reads the file
 * and the host compiles it and checks its imports and exports (the user
 * ABI, see the linuxwasm docs); the program runs in a memory of its own,
 * instantiated by the host when the task next returns to user space.
 */
#include <linux/binfmts.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/mm.h>
#include <linux/personality.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <asm/host.h>

#define WASM_MAGIC	"\0asm\x01\0\0\0"	/* magic and version 1 */
#define WASM_MAX_SIZE	(64 << 20)

static int load_wasm_binary(struct linux_binprm *bprm)
{
	loff_t size, pos = 0;
	void *image;
	ssize_t got;
	int ret;

	if (memcmp(bprm->buf, WASM_MAGIC, sizeof(WASM_MAGIC) - 1))
		return -ENOEXEC;

	size = i_size_read(file_inode(bprm->file));
	if (size > WASM_MAX_SIZE)
		return -EFBIG;
	image = kvmalloc(size, GFP_KERNEL);
	if (!image)
		return -ENOMEM;
	got = kernel_read(bprm->file, image, size, &pos);
	ret = got == size ? wasm_host_exec_load(image, size) : (got < 0 ? got : -EIO);
	kvfree(image);
	if (ret)
		return ret;

	ret = begin_new_exec(bprm);
	if (ret)
		return ret;

	/* The point of no return: the old program is gone. */
	set_personality(PER_LINUX_32BIT);
	setup_new_exec(bprm);
	finalize_exec(bprm);
	start_thread(current_pt_regs(), 0, 0);
	current->thread.exec_done = 1;
	return 0;
}

static struct linux_binfmt wasm_format = {
	.module		= THIS_MODULE,
	.load_binary	= load_wasm_binary,
};

static int __init init_wasm_binfmt(void)
{
	register_binfmt(&wasm_format);
	return 0;
}
core_initcall(init_wasm_binfmt);
