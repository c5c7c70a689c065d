using Microsoft.Extensions.Logging;
using Multicast.Core.DataPlane;
using Multicast.Core.Engines;
using Multicast.Core.Filters;
using Multicast.Core.Tables;

namespace Multicast.Linux.Sockets;

/// <summary>
/// The `socket` server engine (no native code): a filtered AF_PACKET socket read with recvmmsg captures the
/// application's outgoing multicast; copies leave through an IPPROTO_RAW socket with sendmmsg.
/// </summary>
public sealed class SocketServerEngine : IServerEngine
{
    private readonly ServerForwarder _forwarder;
    private readonly ILogger _logger;
    private readonly PacketCapture _capture;
    private readonly RawSocketTxSlots _tx;
    private readonly object _applyLock = new();

    public string Name => EngineNames.Socket;
    public long CaptureDrops => _capture.Drops;
    public long CaptureBufferBytes => _capture.BufferBytes;
    public HopLatency HopLatency { get; }
    public RawSocketTxSlots Transmit => _tx;
    public long SendErrors => Volatile.Read(ref _tx.SendErrors);

    /// <param name="captureBytes">The capture socket's receive buffer; null = the capture's default (<see cref="PacketCapture.DefaultBufferBytes"/>).</param>
    public SocketServerEngine(string interfaceName, ServerForwarder forwarder, ILogger logger, int? captureBytes = null)
    {
        _forwarder = forwarder;
        _logger = logger;
        BpfInstruction[] filter = BpfFilterBuilder.ServerCapture(forwarder.Table.GroupAddresses.ToArray(), linkHeaderLength: 0);
        _capture = new PacketCapture(interfaceName, filter, ignoreOutgoing: false, logger, bufferBytes: captureBytes,
            timestamps: true);
        HopLatency = new HopLatency(_capture.Batch.Capacity);
        try { _tx = new RawSocketTxSlots(); }
        catch { _capture.Dispose(); throw; }
    }

    public void Apply(FanoutTable table)
    {
        lock (_applyLock)
        {
            // Table first: a frame of a new group that passes the new filter must find its members.
            _forwarder.Publish(table);
            _capture.ReplaceFilter(BpfFilterBuilder.ServerCapture(table.GroupAddresses.ToArray(), linkHeaderLength: 0));
        }
    }

    public void Run(CancellationToken stop)
    {
        ReceiveBatch batch = _capture.Batch;
        ServerCounters counters = _forwarder.Counters;
        while (!stop.IsCancellationRequested)
        {
            int n = _capture.Receive();
            for (int i = 0; i < n; i++)
            {
                if (batch.Truncated(i)) { counters.Captured++; counters.DroppedMalformed++; continue; }
                (uint status, long captured) = batch.Control(i);
                bool partial = (status & Libc.TP_STATUS_CSUMNOTREADY) != 0;
                if (captured > 0) HopLatency.Captured(captured);
                else HopLatency.Unstamped();
                _forwarder.Forward(batch.Packet(i), partial, _tx);
            }
            if (n > 0)
            {
                HopLatency.Transmitting(HopLatency.NowNs());
                _tx.Flush();
            }
        }
        _logger.LogDebug("socket server engine stopped");
    }

    public void Dispose()
    {
        _capture.Dispose();
        _tx.Dispose();
    }
}
