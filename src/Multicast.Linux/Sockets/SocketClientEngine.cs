using Microsoft.Extensions.Logging;
using Multicast.Core.DataPlane;
using Multicast.Core.Engines;
using Multicast.Core.Filters;
using Multicast.Core.Tables;

namespace Multicast.Linux.Sockets;

/// <summary>
/// The `socket` client engine: a filtered AF_PACKET socket (recvmmsg) receives the marked copies addressed to this
/// host; restored packets go to the delivery slots.
/// </summary>
public sealed class SocketClientEngine : IClientEngine
{
    private readonly ClientForwarder _forwarder;
    private readonly ITxSlots _delivery;
    private readonly ILogger _logger;
    private readonly PacketCapture _capture;
    private readonly object _applyLock = new();

    public string Name => EngineNames.Socket;
    public long CaptureDrops => _capture.Drops;
    public long CaptureBufferBytes => _capture.BufferBytes;

    /// <param name="captureBytes">The capture socket's receive buffer; null = the capture's default (<see cref="PacketCapture.DefaultBufferBytes"/>).</param>
    public SocketClientEngine(string interfaceName, ClientForwarder forwarder, ITxSlots delivery, ILogger logger, int? captureBytes = null)
    {
        _forwarder = forwarder;
        _delivery = delivery;
        _logger = logger;
        _capture = new PacketCapture(interfaceName, Filter(forwarder.Table, forwarder.FragmentsOnly), ignoreOutgoing: true, logger,
            bufferBytes: captureBytes);
    }

    private static BpfInstruction[] Filter(ClientTable table, bool fragmentsOnly) =>
        BpfFilterBuilder.ClientCapture(table.Servers.ToArray(), ProxyMarker.Tos, linkHeaderLength: 0, fragmentsOnly);

    public void Apply(ClientTable table)
    {
        lock (_applyLock)
        {
            _forwarder.Publish(table);
            _capture.ReplaceFilter(Filter(table, _forwarder.FragmentsOnly));
        }
    }

    public void Run(CancellationToken stop)
    {
        ReceiveBatch batch = _capture.Batch;
        while (!stop.IsCancellationRequested)
        {
            int n = _capture.Receive();
            for (int i = 0; i < n; i++)
            {
                if (batch.Truncated(i)) { _forwarder.Counters.Received++; _forwarder.Counters.DroppedMalformed++; continue; }
                _forwarder.Restore(batch.Packet(i), _delivery);
            }
            if (n > 0) _delivery.Flush();
        }
        _logger.LogDebug("socket client engine stopped");
    }

    public void Dispose() => _capture.Dispose();
}
