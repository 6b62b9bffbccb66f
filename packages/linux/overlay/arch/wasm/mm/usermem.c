// SPDX-License-Identifier: GPL-2.0-only
/*
 * The layout of user memory. Each process has a Wasm memory of its own,
 * which the kernel cannot address but lays out: brk grows up from the end
 * of the program's initial memory, anonymous and private file mappings are
 * placed in the lowest gap that fits above brk and some room for it, and
 * the host grows the memory when a mapping or brk needs more of it. So
 * mmap, munmap and brk work as programs expect, and the kernel knows what
 * each process uses.
 *
 * A Wasm memory never shrinks, and its program can touch every byte of it
 * (there is no protection), so all of it costs the host memory until the
 * process ends. So it counts against the machine's memory: for each page
 * the memory has, the kernel holds one of its own, unused, until the
 * process ends (wasm_user_memory_reserve). A process that would go over
 * gets ENOMEM, or the OOM killer picks one, as on Linux; the lowest-gap
 * placement keeps the memory no larger than its mappings need.
 *
 * There is no protection: mprotect() succeeds without effect, and a
 * MAP_SHARED file mapping cannot be shared with the file. A read-only one
 * is a copy, as a private one is: nothing can write through it, and what
 * maps files that way (musl's time zones and locales) reads them once.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/syscalls.h>
#include <linux/uaccess.h>
#include <asm/host.h>

struct wasm_region {
	struct list_head	node;
	unsigned long		start, end;
};

static void wasm_account(struct mm_struct *mm);

int init_new_context(struct task_struct *tsk, struct mm_struct *mm)
{
	INIT_LIST_HEAD(&mm->context.regions);
	INIT_LIST_HEAD(&mm->context.reserve);
	mm->context.end_brk = 0;
	mm->context.reached = 0;
	mm->context.reserved = 0;
	mm->context.args = NULL;
	mm->context.args_size = 0;
	return 0;
}

/* The address space is gone: so are its user memory and its mappings. */
void arch_exit_mmap(struct mm_struct *mm)
{
	struct wasm_region *region, *next;
	struct page *page, *next_page;

	list_for_each_entry_safe(region, next, &mm->context.regions, node)
		kfree(region);
	INIT_LIST_HEAD(&mm->context.regions);
	list_for_each_entry_safe(page, next_page, &mm->context.reserve, lru)
		__free_pages(page, page_private(page));
	INIT_LIST_HEAD(&mm->context.reserve);
	mm->context.reserved = mm->context.reached = 0;
	atomic_long_set(&mm->rss_stat.count[MM_ANONPAGES], 0);
}

void destroy_context(struct mm_struct *mm)
{
	/* An mm that never ran exit_mmap() (a failed fork or exec). */
	arch_exit_mmap(mm);
	kfree(mm->context.args);
}

/*
 * Hold kernel pages for the user memory's first bytes: as large blocks as
 * come easily, order 0 as the last resort, which may wake the OOM killer
 * unless @gfp says __GFP_NORETRY.
 */
static int reserve(struct mm_struct *mm, unsigned long bytes, gfp_t gfp)
{
	unsigned long want = PAGE_ALIGN(bytes) >> PAGE_SHIFT;

	while (mm->context.reserved < want) {
		unsigned int order = min_t(unsigned int, MAX_ORDER - 1,
					   ilog2(want - mm->context.reserved));
		struct page *page;

		for (;; order--) {
			page = alloc_pages(order ? gfp | __GFP_NORETRY : gfp, order);
			if (page || !order)
				break;
		}
		if (!page)
			return -ENOMEM;
		set_page_private(page, order);
		list_add(&page->lru, &mm->context.reserve);
		mm->context.reserved += 1UL << order;
		/* So that the OOM killer sees what this process takes as it takes it. */
		atomic_long_set(&mm->rss_stat.count[MM_ANONPAGES], mm->context.reserved);
	}
	return 0;
}

int wasm_user_memory_reserve(struct mm_struct *mm, unsigned long bytes)
{
	return reserve(mm, bytes, GFP_HIGHUSER | __GFP_NOWARN);
}

/*
 * exec: brk starts where the new program's memory ends. A memory the host
 * recycled may be larger than the program's initial size, and what lies
 * above that holds an earlier program's data: wasm_map() clears what it
 * maps below mm->context.reached, as brk always clears.
 */
int wasm_user_memory_init(struct mm_struct *mm)
{
	mm->start_brk = mm->brk = mm->context.reached = wasm_host_user_grow(0);
	mm->context.end_brk = wasm_host_user_max();
	wasm_account(mm);
	return wasm_user_memory_reserve(mm, mm->context.reached);
}

/*
 * What the process has mapped, for /proc/PID/stat, statm and status (ps,
 * top): its initial memory (data and C stack) with brk above it, below
 * mm->brk, and its mappings. There are no VMAs for NOMMU's task_vsize()
 * to add up, so this keeps mm->total_vm, as an MMU kernel does; all of it
 * is also counted resident (MM_ANONPAGES), since Wasm memory is all there.
 * Called with the mmap lock held for writing (or on a new mm at exec).
 */
static void wasm_account(struct mm_struct *mm)
{
	struct wasm_region *region;
	unsigned long pages = PAGE_ALIGN(mm->brk) >> PAGE_SHIFT;

	list_for_each_entry(region, &mm->context.regions, node)
		pages += (region->end - region->start) >> PAGE_SHIFT;
	/*
	 * Set, not added (add_mm_counter() calls a tracepoint of MMU code).
	 * Only the mm's owner changes its layout, under the mmap lock. What
	 * is resident is what the kernel holds for the host's memory, the
	 * whole memory (wasm_user_memory_reserve), which is also what the OOM
	 * killer weighs.
	 */
	atomic_long_set(&mm->rss_stat.count[MM_ANONPAGES], mm->context.reserved);
	WRITE_ONCE(mm->total_vm, pages);
}

/*
 * fork: the child's memory is a copy of the parent's (the host makes it),
 * so its layout is a copy too, and it holds as many kernel pages. On
 * failure destroy_context() frees what was copied.
 *
 * There is no copy-on-write: every child costs its whole memory at once.
 * So a fork that does not fit fails with ENOMEM ("can't fork") instead of
 * having the OOM killer end other processes for it, and it leaves the
 * admin reserve (vm.admin_reserve_kbytes, as strict overcommit does) free:
 * after a fork bomb, the agent and root can still start a shell and kill.
 */
int arch_dup_mmap(struct mm_struct *oldmm, struct mm_struct *mm)
{
	struct wasm_region *region, *copy;

	mm->context.end_brk = oldmm->context.end_brk;
	mm->context.reached = oldmm->context.reached;
	list_for_each_entry(region, &oldmm->context.regions, node) {
		copy = kmemdup(region, sizeof(*region), GFP_KERNEL);
		if (!copy)
			return -ENOMEM;
		list_add_tail(&copy->node, &mm->context.regions);
	}
	if (oldmm->context.args) {
		mm->context.args = kmemdup(oldmm->context.args, oldmm->context.args_size, GFP_KERNEL);
		if (!mm->context.args)
			return -ENOMEM;
		mm->context.args_size = oldmm->context.args_size;
	}
	wasm_account(mm);
	if (si_mem_available() < (long)(PAGE_ALIGN(mm->context.reached) >> PAGE_SHIFT) +
				 (long)(sysctl_admin_reserve_kbytes >> (PAGE_SHIFT - 10)))
		return -ENOMEM;
	return reserve(mm, mm->context.reached, GFP_HIGHUSER | __GFP_NOWARN | __GFP_NORETRY);
}

/*
 * Make addresses below end usable, reserving kernel pages for them first;
 * the new part reads as zeros.
 */
static int wasm_user_memory_reach(struct mm_struct *mm, unsigned long end)
{
	unsigned long size;

	if (end <= mm->context.reached)
		return 0;
	if (wasm_user_memory_reserve(mm, round_up(end, WASM_PAGE_SIZE)))
		return -ENOMEM;
	size = wasm_host_user_grow(end);
	mm->context.reached = max(mm->context.reached, size);
	return size >= end ? 0 : -ENOMEM;
}

/* The lowest mapped address: brk may not grow past it. */
static unsigned long wasm_mmap_floor(struct mm_struct *mm)
{
	struct wasm_region *first;

	first = list_first_entry_or_null(&mm->context.regions, struct wasm_region, node);
	return first ? first->start : mm->context.end_brk;
}

SYSCALL_DEFINE1(wasm_brk, unsigned long, brk)
{
	struct mm_struct *mm = current->mm;
	unsigned long old = PAGE_ALIGN(mm->brk), new = PAGE_ALIGN(brk);

	if (mmap_write_lock_killable(mm))
		return -EINTR;
	if (brk < mm->start_brk || brk > mm->context.end_brk || new > wasm_mmap_floor(mm))
		goto out;
	if (new > old) {
		if (wasm_user_memory_reach(mm, new))
			goto out;
		/* Memory given back by an earlier, lower brk is not clean. */
		if (clear_user((void __user *)old, new - old))
			goto out;
	}
	mm->brk = brk;
	wasm_account(mm);
out:
	brk = mm->brk;
	mmap_write_unlock(mm);
	return brk;
}

/*
 * How far brk may grow past a mapping placed above it: programs that take
 * memory from both (sbrk and malloc's mmap) get some room, and what asks
 * for more gets ENOMEM from brk (musl's malloc then maps). Only a process
 * that maps at all pays for the room, and only as host memory.
 */
#define WASM_BRK_ROOM	(1UL << 20)

/*
 * The lowest gap of len bytes above brk's room, or 0. *above is where the
 * new region goes in the list: before the region above the gap (or last).
 */
static unsigned long wasm_find_gap(struct mm_struct *mm, unsigned long len,
				   struct list_head **above)
{
	unsigned long start = PAGE_ALIGN(mm->brk) + WASM_BRK_ROOM;
	unsigned long top = mm->context.end_brk & PAGE_MASK;
	struct wasm_region *region;

	if (len > top || start > top - len)
		return 0;
	list_for_each_entry(region, &mm->context.regions, node) {
		if (region->start >= start + len) {
			*above = &region->node;
			return start;
		}
		start = max(start, region->end);
		if (start > top - len)
			return 0;
	}
	*above = &mm->context.regions;
	return start;
}

static unsigned long wasm_map(struct mm_struct *mm, unsigned long len)
{
	struct wasm_region *region;
	struct list_head *above;
	unsigned long start, old;

	region = kmalloc(sizeof(*region), GFP_KERNEL);
	if (!region)
		return -ENOMEM;
	start = wasm_find_gap(mm, len, &above);
	old = mm->context.reached;
	if (!start || wasm_user_memory_reach(mm, start + len)) {
		kfree(region);
		return -ENOMEM;
	}
	/* Memory the host grew just now is zero; older memory may not be. */
	if (start < old &&
	    clear_user((void __user *)start, min(start + len, old) - start)) {
		kfree(region);
		return -EFAULT;
	}
	region->start = start;
	region->end = start + len;
	list_add_tail(&region->node, above);
	return start;
}

/* A private file mapping is a copy of the file's contents. */
static long wasm_map_file(struct file *file, unsigned long start,
			  unsigned long len, loff_t pos)
{
	unsigned long done = 0;
	void *buf;
	long ret = 0;

	buf = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	while (done < len) {
		ssize_t got = kernel_read(file, buf, PAGE_SIZE, &pos);

		if (got < 0) {
			ret = got;
			break;
		}
		if (got == 0)
			break;	/* past the end: the rest stays zero */
		if (copy_to_user((void __user *)(start + done), buf, got)) {
			ret = -EFAULT;
			break;
		}
		done += got;
	}
	kfree(buf);
	return ret;
}

static void wasm_unmap(struct mm_struct *mm, unsigned long start, unsigned long end);

SYSCALL_DEFINE6(mmap2, unsigned long, addr, unsigned long, len,
		unsigned long, prot, unsigned long, flags,
		unsigned long, fd, unsigned long, pgoff)
{
	struct mm_struct *mm = current->mm;
	struct file *file = NULL;
	unsigned long start;
	long ret;

	if (!len || len > TASK_SIZE - PAGE_SIZE)
		return -EINVAL;
	if (flags & MAP_FIXED)
		return -EINVAL;	/* nothing may be mapped over */
	len = PAGE_ALIGN(len);
	if (!(flags & MAP_ANONYMOUS)) {
		if ((flags & MAP_TYPE) != MAP_PRIVATE && (prot & PROT_WRITE))
			return -ENODEV;	/* no way to share memory with a file */
		file = fget(fd);
		if (!file)
			return -EBADF;
		if (!(file->f_mode & FMODE_READ)) {
			fput(file);
			return -EACCES;
		}
	}

	if (mmap_write_lock_killable(mm)) {
		ret = -EINTR;
		goto out;
	}
	start = wasm_map(mm, len);
	if (IS_ERR_VALUE(start)) {
		ret = start;
	} else if (file) {
		ret = wasm_map_file(file, start, len, (loff_t)pgoff << 12);
		if (ret)
			wasm_unmap(mm, start, start + len);
		else
			ret = start;
	} else {
		ret = start;
	}
	wasm_account(mm);
	mmap_write_unlock(mm);
out:
	if (file)
		fput(file);
	return ret;
}

static void wasm_unmap(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct wasm_region *region, *next, *tail;

	list_for_each_entry_safe(region, next, &mm->context.regions, node) {
		if (region->end <= start || region->start >= end)
			continue;
		if (region->start < start && region->end > end) {
			/* A hole in the middle: keep both ends. */
			tail = kmalloc(sizeof(*tail), GFP_KERNEL | __GFP_NOFAIL);
			tail->start = end;
			tail->end = region->end;
			region->end = start;
			list_add(&tail->node, &region->node);
			return;
		}
		if (region->start < start)
			region->end = start;
		else if (region->end > end)
			region->start = end;
		else {
			list_del(&region->node);
			kfree(region);
		}
	}
}

SYSCALL_DEFINE2(wasm_munmap, unsigned long, addr, size_t, len)
{
	struct mm_struct *mm = current->mm;

	if (offset_in_page(addr) || !len)
		return -EINVAL;
	if (mmap_write_lock_killable(mm))
		return -EINTR;
	wasm_unmap(mm, addr, addr + PAGE_ALIGN(len));
	wasm_account(mm);
	mmap_write_unlock(mm);
	return 0;
}

/* Wasm memory has no protection to change. */
SYSCALL_DEFINE3(wasm_mprotect, unsigned long, start, size_t, len, unsigned long, prot)
{
	return offset_in_page(start) ? -EINVAL : 0;
}
