using Microsoft.Extensions.Logging;
using Multicast.Core.DataPlane;
using Multicast.Core.Engines;
using Multicast.Core.Filters;
using Multicast.Core.Tables;
using Multicast.Linux.Net;

namespace Multicast.Linux.Ring;

/// <summary>
/// The `ring` client: an RX ring receives marked copies (BPF: to this host, IPv4/UDP, TOS = marker, source = a
/// configured server) and hands each to the forwarder, whose restored packets go to the delivery slots.
/// </summary>
public sealed class RingClientEngine : IClientEngine
{
    private const int LinkHeaderLength = 14;

    private readonly ClientForwarder _forwarder;
    private readonly ITxSlots _delivery;
    private readonly ILogger _logger;
    private readonly RxRingOptions _options;
    private readonly RxRing _rx;
    private readonly object _applyLock = new();
    private BacklogBoost _boost;

    public RingClientEngine(string interfaceName, ClientForwarder forwarder, ITxSlots delivery, ILogger logger)
        : this(interfaceName, forwarder, delivery, logger, RxRingOptions.Default) { }

    public RingClientEngine(string interfaceName, ClientForwarder forwarder, ITxSlots delivery, ILogger logger, RxRingOptions options)
    {
        _forwarder = forwarder;
        _delivery = delivery;
        _logger = logger;
        _options = options;
        _boost = new BacklogBoost(options.Priority);
        Interface = InterfaceInfo.Get(interfaceName);
        int linkHeader = Interface.IsEthernet ? LinkHeaderLength : 0;
        if (linkHeader == 0)
            throw new NotSupportedException($"{interfaceName}: the ring engine expects Ethernet framing; use the socket engine");
        _rx = RxRing.Open(Interface.Index, Interface.Mtu, options,
            BpfFilterBuilder.ClientCapture(forwarder.Table.Servers.ToArray(), ProxyMarker.Tos, LinkHeaderLength, forwarder.FragmentsOnly), ignoreOutgoing: true);
        _logger.LogInformation("{Interface}: ring engine, idle {Idle}, nice {Priority}", interfaceName, options.Idle, DataPlanePriority.Describe(options.Priority));
        // The filter already requires PACKET_HOST, so a refusal only costs the kernel a clone per outgoing frame.
        if (_rx.IgnoreOutgoingStatus < 0)
            _logger.LogInformation("{Interface}: PACKET_IGNORE_OUTGOING refused (errno {Errno}); the filter drops outgoing frames",
                interfaceName, -_rx.IgnoreOutgoingStatus);
    }

    public string Name => EngineNames.Ring;
    public long CaptureDrops => _rx.Drops;
    public long PriorityBoosts => Volatile.Read(ref _boost.Boosts);
    public long CaptureBufferBytes => _rx.Bytes;
    public InterfaceInfo Interface { get; }
    public bool IgnoresOutgoing => _rx.IgnoreOutgoingStatus == 1;

    public void Apply(ClientTable table)
    {
        lock (_applyLock)
        {
            _forwarder.Publish(table);
            _rx.SetFilter(BpfFilterBuilder.ClientCapture(table.Servers.ToArray(), ProxyMarker.Tos, LinkHeaderLength, _forwarder.FragmentsOnly));
        }
    }

    public void Run(CancellationToken stop)
    {
        var handler = new Handler(_forwarder, _delivery);
        RxLoop.Run(_rx, ref handler, _options, ref _boost, _logger, stop);
        _delivery.Flush();
    }

    private readonly struct Handler(ClientForwarder forwarder, ITxSlots delivery) : IFrameHandler
    {
        public void OnFrame(in RingFrame frame) => forwarder.Restore(frame.Network, delivery);
        public void EndBatch() => delivery.Flush();
        public void Idle() { }
    }

    public void Dispose() => _rx.Dispose();
}
