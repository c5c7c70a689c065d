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
}
