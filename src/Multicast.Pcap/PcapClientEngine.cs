using Microsoft.Extensions.Logging;
using Multicast.Core.DataPlane;
using Multicast.Core.Engines;
using Multicast.Core.Tables;
using Multicast.Pcap.Native;

namespace Multicast.Pcap;

/// <summary>
/// The `pcap` client: captures the marked copies from the configured servers arriving on the interface (filter
/// rebuilt on every change) and hands them to the forwarder, whose restored packets go to the delivery slots.
/// </summary>
public sealed class PcapClientEngine : IClientEngine, IFrameSink
{
    private const int EthernetHeaderLength = 14;
    private readonly ClientForwarder _forwarder;
    private readonly ITxSlots _delivery;
    private readonly ILogger _logger;
    private readonly PcapCapture _capture;
    private readonly object _applyLock = new();

    public string Name => EngineNames.Pcap;
    public PcapCapture Capture => _capture;
    public long CaptureDrops => _capture.Drops;
    public long CaptureBufferBytes => _capture.BufferBytes;

    /// <param name="captureBytes">libpcap's capture buffer; null = <see cref="PcapCapture.DefaultBufferBytes"/>.</param>
    public PcapClientEngine(string interfaceName, ClientForwarder forwarder, ITxSlots delivery, ILogger logger, int? captureBytes = null)
    {
        _forwarder = forwarder;
        _delivery = delivery;
        _logger = logger;
        CaptureInterface nic = PcapDevices.Find(interfaceName);
        _capture = new PcapCapture(nic.Device, Filter(forwarder.Table, forwarder.FragmentsOnly), OperatingSystem.IsWindows() ? null : LibPcap.DirectionIn, logger, nic.Mtu,
            bufferBytes: captureBytes);
    }

    private static string Filter(ClientTable table, bool fragmentsOnly) =>
        PcapFilterBuilder.ClientCapture(table.Servers.ToArray(), ProxyMarker.Tos, fragmentsOnly);

    public void Apply(ClientTable table)
    {
        lock (_applyLock)
        {
            _forwarder.Publish(table);
            _capture.SetFilter(Filter(table, _forwarder.FragmentsOnly));
        }
    }

    public void Run(CancellationToken stop)
    {
        _capture.Run(this, stop);
        _delivery.Flush();
        _logger.LogDebug("pcap client engine stopped");
    }

    void IFrameSink.OnFrame(ReadOnlySpan<byte> frame, bool truncated, long capturedAtNs)
    {
        if (truncated || frame.Length < EthernetHeaderLength)
        {
            _forwarder.Counters.Received++;
            _forwarder.Counters.DroppedMalformed++;
            return;
        }
        _forwarder.Restore(frame[EthernetHeaderLength..], _delivery);
    }

    void IFrameSink.EndBatch() => _delivery.Flush();

    public void Dispose() => _capture.Dispose();
}
