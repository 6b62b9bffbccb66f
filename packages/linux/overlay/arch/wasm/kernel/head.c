// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a linker script does on other ports, done with wasm-ld's own rules.
 *
 * wasm-ld has no linker scripts. It merges only the standard data sections
 * (.data.*, .rodata.*, .bss.*) and keeps every other named section as an
 * output segment of its own; it lays the segments out one after the other
 * in the order it first meets their names, and appends later input to a
 * segment in link order. This file is the first object of the link
 * (scripts/head-object-list.txt), so it fixes the order of the tables
 * below and puts a zero-size marker at the start of each. Tables whose sections follow each other are therefore contiguous,
 * just as the generic linker script (asm-generic/vmlinux.lds.h) lays them
 * out. The linuxwasm post-link step checks every table after each link.
 */
/* No headers: they declare these symbols with their real types. */

#define MARKER(symbol, section) \
	char symbol[0] __used __section(section) __aligned(4)

/* INIT_CALLS: all levels in one run, each level's start marked. */
MARKER(__initcall_start, ".initcallearly.init");
MARKER(__initcall0_start, ".initcall0.init");
MARKER(__initcall0s_marker, ".initcall0s.init");
MARKER(__initcall1_start, ".initcall1.init");
MARKER(__initcall1s_marker, ".initcall1s.init");
MARKER(__initcall2_start, ".initcall2.init");
MARKER(__initcall2s_marker, ".initcall2s.init");
MARKER(__initcall3_start, ".initcall3.init");
MARKER(__initcall3s_marker, ".initcall3s.init");
MARKER(__initcall4_start, ".initcall4.init");
MARKER(__initcall4s_marker, ".initcall4s.init");
MARKER(__initcall5_start, ".initcall5.init");
MARKER(__initcall5s_marker, ".initcall5s.init");
MARKER(__initcallrootfs_start, ".initcallrootfs.init");
MARKER(__initcallrootfss_marker, ".initcallrootfss.init");
MARKER(__initcall6_start, ".initcall6.init");
MARKER(__initcall6s_marker, ".initcall6s.init");
MARKER(__initcall7_start, ".initcall7.init");
MARKER(__initcall7s_marker, ".initcall7s.init");
MARKER(__initcall_end, ".initcall_end.init");

/* CON_INITCALL */
MARKER(__con_initcall_start, ".con_initcall.init");
MARKER(__con_initcall_end, ".con_initcall_end.init");

/* INIT_SETUP */
MARKER(__setup_start, ".init.setup");
MARKER(__setup_end, ".init.setup_end");

/* SCHED_DATA: from the highest class to the lowest, without gaps. */
MARKER(__sched_class_highest, "__stop_sched_class");
MARKER(__sched_class_dl_marker, "__dl_sched_class");
MARKER(__sched_class_rt_marker, "__rt_sched_class");
MARKER(__sched_class_fair_marker, "__fair_sched_class");
MARKER(__sched_class_idle_marker, "__idle_sched_class");
MARKER(__sched_class_lowest, "__sched_class_lowest");

/*
 * Image bounds. Code is not in memory in Wasm, so every text range is
 * empty; the data bounds are not known before the link either, and are
 * empty too: no address counts as kernel text, rodata or init memory
 * (kstrdup_const() copies, and nothing is freed as init memory).
 */
MARKER(_text, ".image_bounds");
MARKER(_stext, ".image_bounds");
MARKER(_etext, ".image_bounds");
MARKER(_sinittext, ".image_bounds");
MARKER(_einittext, ".image_bounds");
MARKER(_sdata, ".image_bounds");
MARKER(_edata, ".image_bounds");
MARKER(__start_rodata, ".image_bounds");
MARKER(__end_rodata, ".image_bounds");
MARKER(__init_begin, ".image_bounds");
MARKER(__init_end, ".image_bounds");
MARKER(__bss_start, ".image_bounds");
MARKER(__bss_stop, ".image_bounds");
MARKER(_end, ".image_bounds");

/*
 * Tables that nothing fills on this port: no exception fixups, no
 * version records of built-in modules, no symbol CRCs (no MODVERSIONS:
 * the loader names the CRC tables all the same).
 */
MARKER(__start___ex_table, ".empty_tables");
MARKER(__stop___ex_table, ".empty_tables");
MARKER(__start___modver, ".empty_tables");
MARKER(__stop___modver, ".empty_tables");
MARKER(__start___kcrctab, ".empty_tables");
MARKER(__start___kcrctab_gpl, ".empty_tables");

/*
 * The initramfs built into the image is the kernel's default one
 * (usr/default_cpio_list: /dev, /dev/console, /root), written out here:
 * usr/initramfs_data.S cannot be assembled for Wasm (kernel patch 0004).
 * The host hands the system's initramfs over at boot (setup.c); without
 * one, as when the root file system is a disk, the kernel mounts the
 * root on this and opens /dev/console for init, as it does elsewhere.
 * A newc cpio archive: 110-byte headers of hex fields, then each name
 * padded so that header and name end on a 4-byte boundary.
 */
char __initramfs_start[] =
	"07070100000001000041ED0000000000000000000000020000000000000000000000000000000000000000000000000000000400000000"
	"dev" "\0\0\0"
	"07070100000002000021800000000000000000000000010000000000000000000000000000000000000005000000010000000C00000000"
	"dev/console" "\0\0\0"
	"07070100000003000041C00000000000000000000000020000000000000000000000000000000000000000000000000000000500000000"
	"root" "\0\0"
	"07070100000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000B00000000"
	"TRAILER!!!" "\0\0\0\0";
unsigned long __initramfs_size = sizeof(__initramfs_start) - 1;
