/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tracepoints of spte_mirror: one per notifier callback invocation and one
 * per leaf installed, so perf/trace-cmd users can watch without the CLI.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM spte_mirror

#if !defined(_SPTE_MIRROR_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _SPTE_MIRROR_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(spte_mirror_callback,
	TP_PROTO(unsigned int cb, unsigned int event, unsigned int flags,
		 unsigned long start, unsigned long end, int result,
		 unsigned long leaves),
	TP_ARGS(cb, event, flags, start, end, result, leaves),

	TP_STRUCT__entry(
		__field(unsigned int, cb)
		__field(unsigned int, event)
		__field(unsigned int, flags)
		__field(unsigned long, start)
		__field(unsigned long, end)
		__field(int, result)
		__field(unsigned long, leaves)
	),

	TP_fast_assign(
		__entry->cb = cb;
		__entry->event = event;
		__entry->flags = flags;
		__entry->start = start;
		__entry->end = end;
		__entry->result = result;
		__entry->leaves = leaves;
	),

	TP_printk("%s event=%u flags=0x%x hva=0x%lx-0x%lx result=%d leaves=%lu",
		  __print_symbolic(__entry->cb,
				   { 0, "invalidate_range_start" },
				   { 1, "invalidate_range_end" },
				   { 2, "invalidate_secondary" },
				   { 3, "change_pte" },
				   { 4, "clear_flush_young" },
				   { 5, "clear_young" },
				   { 6, "test_young" },
				   { 7, "release" }),
		  __entry->event, __entry->flags, __entry->start, __entry->end,
		  __entry->result, __entry->leaves)
);

TRACE_EVENT(spte_mirror_install,
	TP_PROTO(unsigned long gpa, unsigned long hva, u64 spte,
		 unsigned int level),
	TP_ARGS(gpa, hva, spte, level),

	TP_STRUCT__entry(
		__field(unsigned long, gpa)
		__field(unsigned long, hva)
		__field(u64, spte)
		__field(unsigned int, level)
	),

	TP_fast_assign(
		__entry->gpa = gpa;
		__entry->hva = hva;
		__entry->spte = spte;
		__entry->level = level;
	),

	TP_printk("gpa=0x%lx hva=0x%lx level=%u spte=0x%llx",
		  __entry->gpa, __entry->hva, __entry->level, __entry->spte)
);

#endif /* _SPTE_MIRROR_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE spte_mirror_trace
#include <trace/define_trace.h>
