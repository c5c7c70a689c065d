using Microsoft.Extensions.Logging;

namespace Multicast.Linux.Ring;

/// <summary>
/// Who may walk the RX ring and write the TX ring right now. The data-plane thread holds it for each walk and its
/// batch, and the standby only between them, so the rings keep one writer at a time and a member's copies stay in
/// capture order. Taking it is a compare-and-swap, releasing it a store: the handover orders everything the holder
/// wrote (the rings' positions, the counters) before the next holder's reads.
/// </summary>
internal sealed class RingBaton
{
    private int _held;

    /// <summary>Incremented by the data-plane thread on every pass of its loop; the standby watches it stand still.</summary>
    public long Beats;

    /// <summary>Walks that found frames, by either thread: with none for a while the standby naps longer.</summary>
    public long Batches;

    /// <summary>1 while the data-plane thread is parked in poll (sparse traffic; see IdleStrategy).</summary>
    public int Parked;

    /// <summary>
    /// Times the standby found frames waiting and forwarded them: after a stall of the data-plane thread's CPU, and
    /// under sparse traffic also when it woke while that thread was still being woken for a datagram.
    /// </summary>
    public long Takeovers;

    public bool TryTake() => Interlocked.CompareExchange(ref _held, 1, 0) == 0;

    public void Release() => Volatile.Write(ref _held, 0);
}

/// <summary>
/// The standby thread of the ring server. Why: a CPU of a cloud VM is taken for 0.4–4 ms at a time, several times a
/// second, by kernel threads that a non-preemptible kernel does not interrupt (measured on the project's VM: see
/// bench/PERFORMANCE.md). A data-plane thread stuck behind one leaves every datagram captured meanwhile in the RX ring,
/// and the queue then takes several times the stall to drain. The standby naps for one period at a time and, when the
/// data-plane thread has not come round its loop in a whole period, takes the baton and drains the ring from whatever
/// CPU it woke on. It runs at the data plane's boost nice value (−10 by default), so that it gets a CPU when its nap
/// ends. It wakes once per period while the data-plane thread stays awake for dense traffic (or is pinned), once per
/// 1 ms while that thread parks between sparse datagrams, and once per 10 ms after 100 ms without any.
/// </summary>
internal static class StandbyLoop
{
    /// <summary>The standby's default period: a stall shorter than this is the data-plane thread's to absorb.</summary>
    public const int DefaultPeriodMicros = 150;

    /// <summary>
    /// The nap while an unpinned data-plane thread is parked (sparse traffic). The kernel wakes a parked thread on a CPU
    /// that is running, so the thread a stall holds up is one that stays awake for dense traffic, or one pinned to the
    /// stalled CPU. Not longer: under dense traffic the thread parks now and then, and the standby should be back on
    /// watch soon after it wakes. Each wake-up costs about 13 µs of CPU on the project's VM (the curve of `multicast bench`).
    /// </summary>
    private const int ParkedNapMicros = 1_000;

    /// <summary>The nap once no datagram has come for <see cref="QuietAfterMs"/>: an idle server costs 100 wake-ups a second.</summary>
    private const int QuietNapMicros = 10_000;
    private const long QuietAfterMs = 100;

    /// <param name="processCpus">The CPUs the process may use, read before the data-plane thread was pinned (--cpu).</param>
    /// <param name="priority">The data plane's nice values: the standby runs at the boost throughout.</param>
    public static void Run<THandler>(RxRing rx, ref THandler handler, RingBaton baton, int periodMicros, IReadOnlyList<int> processCpus,
        DataPlanePriority? priority, ILogger logger, CancellationToken stop)
        where THandler : struct, IFrameHandler
    {
        Span<RingFrame> frames = stackalloc RingFrame[RxLoop.BatchSize];
        // The default timer slack (50 µs) would stretch every nap by a third.
        ThreadScheduling.SetCurrentThreadTimerSlack(1);
        bool pinned = AvoidTheDataPlanesCpus(processCpus, logger);
        // It must get a CPU the moment its nap ends, or it cannot stand in for a thread that cannot. Napping at the base
        // and boosting only to drain was measured: its takeovers then waited for the CPU too (p99 no better than none).
        if (priority is { } p) RxLoop.SetNice(p.Boost, logger, "standby");
        long seenBeat = -1, seenBatches = -1, lastBatchMs = 0;
        while (!stop.IsCancellationRequested)
        {
            ThreadScheduling.Nap(Environment.TickCount64 - lastBatchMs > QuietAfterMs ? QuietNapMicros
                : !pinned && Volatile.Read(ref baton.Parked) != 0 ? ParkedNapMicros
                : periodMicros);
            long batches = Volatile.Read(ref baton.Batches);
            if (batches != seenBatches) { seenBatches = batches; lastBatchMs = Environment.TickCount64; }
            long beat = Volatile.Read(ref baton.Beats);
            if (beat != seenBeat) { seenBeat = beat; continue; }
            if (!baton.TryTake()) continue;
            try
            {
                if (Drain(rx, ref handler, frames) > 0)
                {
                    baton.Takeovers++;
                    baton.Batches++;
                }
            }
            finally
            {
                baton.Release();
            }
        }
    }

    /// <summary>
    /// Started from the data-plane thread, the standby inherited its CPUs. Pinned there (--cpu), it would be held by
    /// whatever holds the data-plane thread; so it moves to the process's other CPUs, or stays where it is if it has none.
    /// Returns whether the data-plane thread is pinned.
    /// </summary>
    private static bool AvoidTheDataPlanesCpus(IReadOnlyList<int> processCpus, ILogger logger)
    {
        IReadOnlyList<int> dataPlane = ThreadScheduling.AllowedCpus();
        int[] elsewhere = processCpus.Except(dataPlane).ToArray();
        if (elsewhere.Length == 0) return false;
        if (ThreadScheduling.SetCurrentThreadAffinity(elsewhere) is int errno and not 0)
            logger.LogWarning("cannot move the standby thread off the data-plane thread's CPUs (errno {Errno}); it shares them", errno);
        return true;
    }

    /// <summary>Walks until the ring is empty; returns the frames handled.</summary>
    private static int Drain<THandler>(RxRing rx, ref THandler handler, Span<RingFrame> frames) where THandler : struct, IFrameHandler
    {
        int total = 0;
        while (true)
        {
            int n = rx.Walk(frames);
            if (n == 0) return total;
            RxLoop.Forward(rx, ref handler, frames[..n]);
            total += n;
        }
    }
}
