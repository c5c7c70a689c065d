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
    public static void Run<THandler>(RxRing rx, ref THandler handler, RxRingOptions options, ref BacklogBoost boost, ILogger logger, CancellationToken stop)
        where THandler : struct, IFrameHandler
    {
        Span<RingFrame> frames = stackalloc RingFrame[BatchSize];
        var backoff = new IdleBackoff(options.Idle);
        bool switching = boost.Switches && SetNice(boost.Base, logger);
        while (!stop.IsCancellationRequested)
        {
            int n = rx.Walk(frames);
            if (switching && boost.OnWalk(n) is int raised) switching = SetNice(raised, logger);
            if (n == 0)
            {
                if (!backoff.ShouldPark()) continue;
                if (switching && boost.OnPark() is int lowered) switching = SetNice(lowered, logger);
                int r = rx.Wait(options.PollTimeoutMs);
                if (r == 0) handler.Idle();
                else if (r < 0) logger.LogWarning("{Error}", ShimException.FromResult(r, "RX wait").Message);
                continue;
            }
            backoff.OnWork();
            for (int i = 0; i < n; i++) handler.OnFrame(in frames[i]);
            rx.Release();
            handler.EndBatch();
        }
    }

    /// <summary>Applies a nice value to the calling thread; a refusal (no CAP_SYS_NICE) ends switching, said once.</summary>
    private static bool SetNice(int nice, ILogger logger)
    {
        int errno = ThreadScheduling.SetCurrentThreadNice(nice);
        if (errno == 0) return true;
        logger.LogWarning("cannot set the data-plane thread's nice value to {Nice} (errno {Errno}); it stays where it is", nice, errno);
        return false;
    }
}
