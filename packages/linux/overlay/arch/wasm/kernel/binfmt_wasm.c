// SPDX-License-Identifier: GPL-2.0-only
/*
 * Executables are static WebAssembly modules. The kernel reads the file
 * and the host compiles it and checks its imports and exports (the user
 * ABI, see the linuxwasm docs); the program runs in a memory of its own,
 * instantiated by the host when the task next returns to user space.
 */
#include <linux/binfmts.h>
#include <linux/cred.h>
#include <linux/elf.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/mm.h>
#include <linux/personality.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <asm/host.h>
#include <asm/mmu_context.h>

#define WASM_MAGIC	"\0asm\x01\0\0\0"	/* magic and version 1 */
#define WASM_MAX_SIZE	(64 << 20)
#define WASM_CHUNK	(4 * PAGE_SIZE)

/*
 * The start of the process's stack, as on other NOMMU ports: argc, the
 * argv and envp pointers, and the auxiliary vector, just below the
 * argument strings. The program's _start gets a pointer to argc as its
 * stack pointer.
 */
static int create_wasm_tables(struct linux_binprm *bprm, unsigned long *sp_location)
{
	static const unsigned int nr_aux = 8;
	unsigned long strings = *sp_location, sp;
	unsigned long __user *table;
	unsigned long aux[] = {
		AT_PAGESZ, PAGE_SIZE,
		AT_CLKTCK, CLOCKS_PER_SEC,
		AT_UID, from_kuid_munged(current_user_ns(), current_uid()),
		AT_EUID, from_kuid_munged(current_user_ns(), current_euid()),
		AT_GID, from_kgid_munged(current_user_ns(), current_gid()),
		AT_EGID, from_kgid_munged(current_user_ns(), current_egid()),
		AT_SECURE, bprm->secureexec,
		AT_NULL, 0,
	};
	char __user *p = (char __user *)strings;
	long i, len;

	BUILD_BUG_ON(ARRAY_SIZE(aux) != 2 * nr_aux);
	sp = strings - (1 + bprm->argc + 1 + bprm->envc + 1 + 2 * nr_aux) * sizeof(long);
	sp &= ~15UL;
	table = (unsigned long __user *)sp;

	if (put_user(bprm->argc, table++))
		return -EFAULT;
	current->mm->arg_start = strings;
	/* argv[], its NULL, envp[], its NULL: each NULL even when its array is empty. */
	for (i = 0; i <= bprm->argc + bprm->envc; i++) {
		if (i == bprm->argc) {
			if (put_user(0, table++))
				return -EFAULT;
			current->mm->arg_end = current->mm->env_start = (unsigned long)p;
		}
		if (i == bprm->argc + bprm->envc)
			break;
		if (put_user((unsigned long)p, table++))
			return -EFAULT;
		len = strnlen_user(p, MAX_ARG_STRLEN);
		if (!len || len > MAX_ARG_STRLEN)
			return -EINVAL;
		p += len;
	}
	current->mm->env_end = (unsigned long)p;
	wasm_keep_args(current->mm);
	if (put_user(0, table++))
		return -EFAULT;
	if (copy_to_user(table, aux, sizeof(aux)))
		return -EFAULT;

	*sp_location = sp;
	return 0;
}

/*
 * Hand the program to the host. A program it has compiled already is
 * known by its file's identity and version: no need to read it again.
 * Otherwise it goes over in pieces, never needing the whole file in
 * contiguous kernel memory.
 */
static int wasm_load_program(struct file *file)
{
	struct inode *inode = file_inode(file);
	loff_t size = i_size_read(inode), pos = 0;
	char key[96];
	void *chunk;
	int ret;

	snprintf(key, sizeof(key), "%u:%lu:%lld.%ld:%lld", inode->i_sb->s_dev, inode->i_ino,
		 (long long)inode->i_ctime.tv_sec, inode->i_ctime.tv_nsec, (long long)size);
	ret = wasm_host_exec_cached(key);
	if (ret != -ENOENT)
		return ret;
	if (size > WASM_MAX_SIZE)
		return -EFBIG;
	chunk = kmalloc(WASM_CHUNK, GFP_KERNEL);
	if (!chunk)
		return -ENOMEM;
	wasm_host_exec_begin(size);
	while (pos < size) {
		ssize_t got = kernel_read(file, chunk, min_t(loff_t, WASM_CHUNK, size - pos), &pos);

		if (got <= 0) {
			kfree(chunk);
			return got < 0 ? got : -EIO;
		}
		wasm_host_exec_chunk(chunk, got);
	}
	kfree(chunk);
	return wasm_host_exec_load(key);
}

static int load_wasm_binary(struct linux_binprm *bprm)
{
	unsigned long sp;
	int ret;

	if (memcmp(bprm->buf, WASM_MAGIC, sizeof(WASM_MAGIC) - 1))
		return -ENOEXEC;

	ret = wasm_load_program(bprm->file);
	if (ret < 0)
		return ret;
	/*
	 * The program's initial memory counts against the machine's before
	 * the host makes it (its data segments would touch it all).
	 */
	ret = wasm_user_memory_reserve(bprm->mm, (unsigned long)ret * WASM_PAGE_SIZE);
	if (!ret)
		ret = wasm_host_exec_instantiate();
	if (ret)
		return ret;

	ret = begin_new_exec(bprm);
	if (ret)
		return ret;

	/* The point of no return: the old program is gone. */
	set_personality(PER_LINUX_32BIT);
	setup_new_exec(bprm);

	/* From here on, user memory is the new program's. */
	sp = wasm_host_exec_commit();
	ret = wasm_user_memory_init(current->mm);
	if (!ret)
		ret = transfer_args_to_stack(bprm, &sp);
	if (!ret)
		ret = create_wasm_tables(bprm, &sp);
	if (ret)
		return ret;
	current->mm->start_stack = sp;

	finalize_exec(bprm);
	start_thread(current_pt_regs(), 0, sp);
	wasm_host_exec_start(sp);
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
