# lazydir in a container. Build the jar first, then the image (no Maven inside the image build):
#   mvn -q -DskipTests package && docker build -t lazydir .
# crawl runs as any user; serve runs as root with SYS_ADMIN (fanotify pre-content group, the view's bind mount)
# and SYS_PTRACE (the guard's pidfd_getfd), on a host kernel with pre-content events (Linux 6.14+), with its store
# on ext4, xfs or btrfs (a volume: the container's own overlay root is refused). README "Docker" has the lines.
FROM debian:bookworm-slim
# The JRE and tini, unless the base already has them (CI builds on a locally made bookworm base that does).
# tini is PID 1: it forwards docker's signals to the JVM and reaps orphans, so the JVM and its guard run as ordinary
# processes; when the JVM ends, so does the container, with every reader of the view (README "Docker").
RUN if ! command -v java >/dev/null || ! command -v tini >/dev/null; then \
      apt-get update -qq && apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless tini \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
    && useradd --system --uid 999 --home-dir /nonexistent --shell /usr/sbin/nologin lazydir
COPY lazydir /opt/lazydir/lazydir
COPY target/lazydir.jar /opt/lazydir/lazydir.jar
# The class-data-sharing archive for this jar and this JRE (/opt/lazydir/lazydir.jsa): shorter starts.
RUN LAZYDIR_CDS=dump /opt/lazydir/lazydir && chmod 0444 /opt/lazydir/lazydir.jsa \
    && ln -s /opt/lazydir/lazydir /usr/local/bin/lazydir
ENV LC_ALL=C.UTF-8
# Unprivileged by default (crawl, index, status need nothing more); serve is run with --user root and
# --cap-drop ALL --cap-add SYS_ADMIN --cap-add SYS_PTRACE.
USER lazydir
ENTRYPOINT ["/usr/bin/tini", "--", "/opt/lazydir/lazydir"]
CMD ["--help"]
