using System.Diagnostics;
using Multicast.Linux;

namespace Multicast.Cli.Tools;

/// <summary>
/// Waits for a send's due time without holding a core. On a 2-core box a sender that spins or yields between
/// datagrams takes a whole core from the systems it measures; on Linux this sleeps on CLOCK_MONOTONIC (the clock behind
/// Stopwatch there) with an absolute deadline and 1 ns timer slack, so a 50 µs gap costs a wake-up, not 50 µs of CPU.
/// Gaps too short to sleep through are spun; a sender that fell behind sends at once and catches up in a burst.
/// </summary>
internal static class Pacer
{
    // Below this a sleep's wake-up (a few µs of scheduler work) would overshoot: spin instead.
    private static readonly long SpinBelow = Stopwatch.Frequency / 200_000; // 5 µs

    // Stopwatch is CLOCK_MONOTONIC in nanoseconds on Linux; anything else falls back to the portable wait.
    private static readonly bool Precise = OperatingSystem.IsLinux() && Stopwatch.Frequency == 1_000_000_000;

    /// <summary>Call once on the sending thread: the default 50 µs timer slack would make every sleep late.</summary>
    public static void Prepare()
    {
        if (Precise) ThreadScheduling.SetCurrentThreadTimerSlack(1);
    }

    public static void WaitUntil(long dueTimestamp)
    {
        while (true)
        {
            long ahead = dueTimestamp - Stopwatch.GetTimestamp();
            if (ahead <= 0) return;
            if (ahead < SpinBelow) { Thread.SpinWait(20); continue; }
            if (Precise)
            {
                ThreadScheduling.NapUntil(dueTimestamp); // EINTR: the loop checks again
                continue;
            }
            // Thread.Sleep(1) overshoots by up to ~1.1 ms, so only sleep when further away than that.
            if (ahead > Stopwatch.Frequency * 15 / 10_000) Thread.Sleep(1);
            else Thread.Yield();
        }
    }
}
