using System.Runtime.InteropServices;

namespace Multicast.Linux;

/// <summary>
/// The data plane is one thread; when the host is busy, every millisecond it waits for a CPU fills the capture
/// queue, and a full queue drops datagrams. Raising its CFS weight (a negative nice value, per thread on Linux)
/// makes the scheduler run it ahead of ordinary work without the starvation risks of a real-time policy. The ring
/// engine raises it only while a backlog drains (see DataPlanePriority); the others keep it raised.
/// </summary>
public static partial class ThreadScheduling
{
    /// <summary>The raised value: the ring engine's boost, the other engines' fixed value.</summary>
    public const int DataPlaneNice = -10;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setpriority(int which, uint who, int priority);

    [LibraryImport("libc")]
    private static partial int gettid();

    private const int PRIO_PROCESS = 0;

    /// <summary>Sets the calling thread's nice value; returns the errno on failure (e.g. EACCES without CAP_SYS_NICE), else 0.</summary>
    public static int SetCurrentThreadNice(int nice) =>
        setpriority(PRIO_PROCESS, (uint)gettid(), nice) == 0 ? 0 : Marshal.GetLastPInvokeError();

    // glibc's cpu_set_t: 1024 bits.
    public const int MaxCpus = 1024;
    private const int CpuSetBytes = MaxCpus / 8;

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int sched_setaffinity(int pid, nuint size, byte* mask);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int sched_getaffinity(int pid, nuint size, byte* mask);

    /// <summary>The CPUs the calling thread may run on (its affinity mask, itself within the cgroup's cpuset).</summary>
    public static unsafe IReadOnlyList<int> AllowedCpus()
    {
        byte* mask = stackalloc byte[CpuSetBytes];
        new Span<byte>(mask, CpuSetBytes).Clear();
        if (sched_getaffinity(0, CpuSetBytes, mask) != 0) return Enumerable.Range(0, Environment.ProcessorCount).ToArray();
        var cpus = new List<int>();
        for (int cpu = 0; cpu < MaxCpus; cpu++)
            if ((mask[cpu / 8] & (1 << (cpu % 8))) != 0) cpus.Add(cpu);
        return cpus;
    }

    [LibraryImport("libc")]
    private static partial int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    private const int PR_SET_TIMERSLACK = 29;

    /// <summary>How late the kernel may end the calling thread's sleeps, in ns (default 50 µs); errno-free best effort.</summary>
    public static void SetCurrentThreadTimerSlack(ulong nanoseconds) => prctl(PR_SET_TIMERSLACK, (nuint)nanoseconds, 0, 0, 0);

    [LibraryImport("libc")]
    private static partial int clock_nanosleep(int clock, int flags, in Sockets.Timespec request, IntPtr remain);

    private const int CLOCK_MONOTONIC = 1, TIMER_ABSTIME = 1;

    /// <summary>Sleeps about <paramref name="micros"/> µs (a signal may end it early): Thread.Sleep counts in ms.</summary>
    public static void Nap(int micros) =>
        clock_nanosleep(CLOCK_MONOTONIC, 0, new Sockets.Timespec { Seconds = micros / 1_000_000, Nanoseconds = micros % 1_000_000 * 1000L }, IntPtr.Zero);

    /// <summary>Sleeps until CLOCK_MONOTONIC reads <paramref name="monotonicNs"/> (a signal may end it early).</summary>
    public static void NapUntil(long monotonicNs) =>
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, new Sockets.Timespec { Seconds = monotonicNs / 1_000_000_000, Nanoseconds = monotonicNs % 1_000_000_000 }, IntPtr.Zero);

    /// <summary>
    /// Pins the calling thread (only it: threads it starts later inherit the mask, so call this on the data-plane
    /// thread right before its loop) to <paramref name="cpus"/>; returns the errno on failure, else 0.
    /// </summary>
    public static unsafe int SetCurrentThreadAffinity(IReadOnlyList<int> cpus)
    {
        byte* mask = stackalloc byte[CpuSetBytes];
        new Span<byte>(mask, CpuSetBytes).Clear();
        foreach (int cpu in cpus)
        {
            if (cpu is < 0 or >= MaxCpus) return 22; // EINVAL, as the kernel would say for a CPU it has not got
            mask[cpu / 8] |= (byte)(1 << (cpu % 8));
        }
        return sched_setaffinity(0, CpuSetBytes, mask) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }
}
