using System.Runtime.InteropServices;

namespace Multicast.Cli.Tools;

/// <summary>
/// CLOCK_REALTIME in nanoseconds. Sender and receiver run in different network namespaces (or hosts) but share the
/// wall clock, so one-way latency is receive time minus the send timestamp carried in the payload.
/// </summary>
public static partial class WallClock
{
    private const int ClockRealtime = 0;

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec { public long Seconds; public long Nanoseconds; }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out Timespec ts);

    private static readonly bool UseLibc = OperatingSystem.IsLinux();

    public static long NowNs()
    {
        if (UseLibc && ClockGetTime(ClockRealtime, out Timespec ts) == 0) return ts.Seconds * 1_000_000_000L + ts.Nanoseconds;
        return (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;
    }
}
