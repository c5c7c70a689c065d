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

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sched_setscheduler(int pid, int policy, in int priority);

    private const int PRIO_PROCESS = 0;
    private const int SCHED_IDLE = 5;

    /// <summary>Sets the calling thread's nice value; returns the errno on failure (e.g. EACCES without CAP_SYS_NICE), else 0.</summary>
    public static int SetCurrentThreadNice(int nice) =>
        setpriority(PRIO_PROCESS, (uint)gettid(), nice) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>
    /// Moves the calling thread to SCHED_IDLE: while ordinary threads want the CPU it gets a minimal share (weight 3
    /// against nice 0's 1024), and an ordinary thread that wakes preempts it at once. For the daemons' housekeeping, whose output can wait a few milliseconds but
    /// whose bursts (a stats file, a netlink dump) would otherwise take a CPU from the data plane or the application.
    /// Returns the errno on failure, else 0 (no privilege is needed to lower one's own priority).
    /// </summary>
    public static int SetCurrentThreadIdlePolicy() =>
        sched_setscheduler(gettid(), SCHED_IDLE, 0) == 0 ? 0 : Marshal.GetLastPInvokeError();
}
