/**
 * The zod shapes of cgroup v2 limit values, shared by `omnitide/kernel`'s
 * `setLimits` and the chaos engine's `cgroup-limits` fault (which narrows the
 * rest of the limits object but takes these as they are).
 */
import { z } from 'zod';

/** A count or byte value of memory.max/high and pids.max, or 'max' (unlimited). */
export const limitValue = z.union([z.number().int().min(0), z.literal('max')]);

/** One io.max line: a block device (a path like /dev/vda or MAJ:MIN); an omitted rate stays unlimited. */
export const ioLimitEntry = z.strictObject({
  device: z.string().min(1),
  rbps: z.number().int().min(1).optional(),
  wbps: z.number().int().min(1).optional(),
  riops: z.number().int().min(1).optional(),
  wiops: z.number().int().min(1).optional(),
});
