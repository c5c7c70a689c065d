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

/// <summary>The shared receive loop: walk → handle → release → flush, backing off (spin → yield → park, see IdleStrategy) when idle.</summary>
internal static class RxLoop
{
    public const int BatchSize = 64;

    public static void Run<THandler>(RxRing rx, ref THandler handler, RxRingOptions options, ILogger logger, CancellationToken stop)
        where THandler : struct, IFrameHandler
    {
        Span<RingFrame> frames = stackalloc RingFrame[BatchSize];
        var backoff = new IdleBackoff(options.Idle);
        while (!stop.IsCancellationRequested)
        {
            int n = rx.Walk(frames);
            if (n == 0)
            {
                if (!backoff.ShouldPark()) continue;
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
}
