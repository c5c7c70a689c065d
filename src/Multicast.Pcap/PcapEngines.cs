using Microsoft.Extensions.Logging;
using Multicast.Core.DataPlane;
using Multicast.Pcap.NextHop;
using Multicast.Pcap.Tx;

namespace Multicast.Pcap;

/// <summary>The Windows parts of the pcap engine (Linux supplies its own resolver and slow path).</summary>
public static class PcapEngines
{
    [System.Runtime.Versioning.SupportedOSPlatform("windows")]
    public static PcapServerEngine CreateWindowsServer(string interfaceName, ServerForwarder forwarder, ILogger logger, int? captureBytes = null) =>
        new PcapServerEngine(interfaceName, forwarder, logger,
            nic => new NextHopCache(new IpHelperNextHopSource(), nic.Index, logger),
            nic => new SocketRawTxSlots(capacity: 64, slotSize: 65535), captureBytes);
}
