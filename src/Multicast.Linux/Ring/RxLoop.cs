using Microsoft.Extensions.Logging;

namespace Multicast.Linux.Ring;

/// <summary>What the receive loop does with frames; a struct so the per-frame call is direct, not a delegate.</summary>
internal interface IFrameHandler
{
    void OnFrame(in RingFrame frame);
    /// <summary>After a batch's frames went back to the kernel: transmit what the batch produced.</summary>
    void EndBatch();
    /// <summary>Nothing arrived for a poll timeout: retry anything a failed kick left queued.</summary>
    void Idle();
}

/// <summary>
/// The shared receive loop: walk → handle → release → flush, backing off (spin → yield → park, see IdleStrategy) when
/// idle, and raising the thread's priority while a backlog drains (see BacklogBoost).
/// </summary>
internal static class RxLoop
{
    public const int BatchSize = 64;

    /// <param name="boost">The engine's boost state, built from its options' Priority (its counter is read by the stats thread).</param>
    /// <param name="baton">Shared with a standby thread (see StandbyLoop): held for each walk and its batch; null = no standby.</param>
    public static void Run<THandler>(RxRing rx, ref THandler handler, RxRingOptions options, ref BacklogBoost boost, ILogger logger, CancellationToken stop,
        RingBaton? baton = null)
        where THandler : struct, IFrameHandler
    {
        Span<RingFrame> frames = stackalloc RingFrame[BatchSize];
        var backoff = new IdleBackoff(options.Idle);
        bool switching = boost.Switches && SetNice(boost.Base, logger);
        while (!stop.IsCancellationRequested)
        {
            if (baton is not null)
            {
                Volatile.Write(ref baton.Beats, baton.Beats + 1);
                // The standby is draining: it has the rings until the backlog is gone.
                if (!baton.TryTake()) { Thread.Yield(); continue; }
            }
            int n = rx.Walk(frames);
            if (switching && boost.OnWalk(n) is int raised) switching = SetNice(raised, logger);
            if (n == 0)
            {
                baton?.Release();
                if (!backoff.ShouldPark()) continue;
                if (switching && boost.OnPark() is int lowered) switching = SetNice(lowered, logger);
                if (baton is not null) Volatile.Write(ref baton.Parked, 1);
                int r = rx.Wait(options.PollTimeoutMs);
                if (baton is not null) Volatile.Write(ref baton.Parked, 0);
                if (r == 0) Idle(ref handler, baton);
                else if (r < 0) logger.LogWarning("{Error}", ShimException.FromResult(r, "RX wait").Message);
                continue;
            }
            backoff.OnWork();
            Forward(rx, ref handler, frames[..n]);
            if (baton is not null)
            {
                baton.Batches++;
                baton.Release();
            }
        }
    }

    /// <summary>Hands a walk's frames to the handler, gives them back to the kernel, then transmits what they produced.</summary>
    internal static void Forward<THandler>(RxRing rx, ref THandler handler, ReadOnlySpan<RingFrame> frames) where THandler : struct, IFrameHandler
    {
        foreach (ref readonly RingFrame frame in frames) handler.OnFrame(in frame);
        rx.Release();
        handler.EndBatch();
    }

    /// <summary>A quiet poll timeout: retries what a failed kick left queued, unless the standby holds the rings.</summary>
    private static void Idle<THandler>(ref THandler handler, RingBaton? baton) where THandler : struct, IFrameHandler
    {
        if (baton is null) { handler.Idle(); return; }
        if (!baton.TryTake()) return;
        handler.Idle();
        baton.Release();
    }

    /// <summary>Applies a nice value to the calling thread; a refusal (no CAP_SYS_NICE) ends switching, said once.</summary>
    internal static bool SetNice(int nice, ILogger logger, string thread = "data-plane")
    {
        int errno = ThreadScheduling.SetCurrentThreadNice(nice);
        if (errno == 0) return true;
        logger.LogWarning("cannot set the {Thread} thread's nice value to {Nice} (errno {Errno}); it stays where it is", thread, nice, errno);
        return false;
    }
}
