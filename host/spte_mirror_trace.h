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
#include <uapi/linux/spte_mirror.h>

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
				   { SPTE_CB_INVALIDATE_RANGE_START,
				     "invalidate_range_start" },
				   { SPTE_CB_INVALIDATE_RANGE_END,
				     "invalidate_range_end" },
				   { SPTE_CB_INVALIDATE_SECONDARY,
				     "invalidate_secondary" },
				   { SPTE_CB_CHANGE_PTE, "change_pte" },
				   { SPTE_CB_CLEAR_FLUSH_YOUNG, "clear_flush_young" },
				   { SPTE_CB_CLEAR_YOUNG, "clear_young" },
				   { SPTE_CB_TEST_YOUNG, "test_young" },
				   { SPTE_CB_RELEASE, "release" }),
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

/* relative to the -I$(src) of host/Kbuild */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE spte_mirror_trace
#include <trace/define_trace.h>
