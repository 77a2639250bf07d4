package dev.lazydir.origin;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * The version of an origin file that one fill writes: its size and validators (ETag, Last-Modified). Every
 * answer is checked against it before any of its bytes is handed over, on both fetch paths: some origins and
 * caches ignore If-Range and answer a range of a newer version with 206, so the request's If-Range alone
 * proves nothing. A validator the stub's metadata lacks (listings rarely give an ETag, and give times to the
 * minute) is taken from the first answer that carries it and binds every later one, so two segments of one
 * file never come from two versions. ETags differ between servers: an answer from another server than the one
 * whose ETag is known (a mirror, see {@link Servers}) must prove the version by its Last-Modified instead.
 * Thread-safe: the segments of a file are fetched in parallel.
 */
public final class FileVersion {
  private static final DateTimeFormatter HTTP_DATE =
      DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.ENGLISH).withZone(ZoneOffset.UTC);

  private final long size;
  /** Whether validators are taken from the first answer that carries them (false: only the size binds). */
  private final boolean adopt;
  private String etag;
  /** The server whose ETag {@link #etag} is: null for the origin (listings and probes ask the origin). */
  private String etagServer;
  private Instant lastModified;
  private volatile boolean ignoresRange;

  /**
   * @param etag the ETag the file was listed or probed with, or null
   * @param lastModified its Last-Modified to the second, or null
   */
  public FileVersion(long size, String etag, Instant lastModified) {
    this(size, etag, lastModified, true);
  }

  private FileVersion(long size, String etag, Instant lastModified, boolean adopt) {
    this.size = size;
    this.etag = etag;
    this.lastModified = lastModified;
    this.adopt = adopt;
  }

  /**
   * A version whose bytes are pinned by digests (a tree index's), not by validators: only the size is checked,
   * and no validator is adopted from an answer, so an answer whose bytes the digests refuse (a stale cache, say)
   * does not bind the fetch that replaces it.
   */
  public static FileVersion pinnedByDigests(long size) {
    return new FileVersion(size, null, null, false);
  }

  public long size() {
    return size;
  }

  /**
   * The validator to send as If-Range to {@code server}: a strong ETag of that server, else the Last-Modified date;
   * null if neither is known.
   */
  synchronized String ifRange(Servers.Server server) {
    return etag != null && etag.startsWith("\"") && sameServer(server) ? etag
        : lastModified != null ? HTTP_DATE.format(lastModified) : null;
  }

  private boolean sameServer(Servers.Server server) {
    return etagServer == null ? server.origin : etagServer.equals(server.key);
  }

  /**
   * Checks the head of one answer to a range request: the size it states (the Content-Range total of a 206, the
   * Content-Length of a 200), its ETag and Last-Modified must be this version's. Validators this version lacks
   * are adopted from the answer. A 200 that passes is the whole file: from then on {@link #ignoresRange()}.
   *
   * @param what the request, for the message ("GET URL")
   * @param server the server that answered
   */
  synchronized void check(String what, AnswerHeaders answer, Servers.Server server) throws OriginException {
    int status = answer.status();
    long total = answer.fileSize();
    if ((status == 206 || total >= 0) && total != size) {
      throw changed(what, status, "size " + total + ", expected " + size, server);
    }
    String answerEtag = answer.etag();
    boolean etagComparable = etag != null && sameServer(server);
    if (answerEtag != null && etagComparable && !opaque(answerEtag).equals(opaque(etag))) {
      throw changed(what, status, "ETag " + answerEtag + ", expected " + etag, server);
    }
    Instant answerLastModified = answer.lastModified();
    // A mirror whose ETag cannot be compared proves its version by its Last-Modified, or not at all.
    boolean unproven = answerLastModified == null && lastModified != null && !server.origin && !etagComparable;
    if (unproven || answerLastModified != null && lastModified != null && !answerLastModified.equals(lastModified)) {
      throw changed(what, status, "Last-Modified " + answerLastModified + ", expected " + lastModified, server);
    }
    if (adopt) {
      if (etag == null && answerEtag != null) {
        etag = answerEtag;
        etagServer = server.origin ? null : server.key;
      }
      lastModified = lastModified == null ? answerLastModified : lastModified;
    }
    if (status == 200) {
      ignoresRange = true; // noted before any byte of the whole-file answer is handed over
    }
  }

  /**
   * The ETag without its weak mark: a HEAD answered with a compressed body gets a weak ETag where the identity
   * range answer of the same file has the strong one.
   */
  private static String opaque(String etag) {
    return etag.startsWith("W/") ? etag.substring(2) : etag;
  }

  private static OriginException changed(String what, int status, String detail, Servers.Server server) {
    return new VersionChangedException(what + (server.origin ? ": the file changed at the origin ("
        : ": the mirror holds another version of the file (") + detail + ")", status);
  }

  /**
   * Whether the origin answered a range request of this file with the whole file: then every fetch of it
   * streams the file from its first byte, and the filler lets readers of later segments wait for that stream
   * instead of starting another.
   */
  public boolean ignoresRange() {
    return ignoresRange;
  }
}
