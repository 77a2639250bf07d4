# lazydir in a container. serve needs --cap-add SYS_ADMIN (fanotify pre-content groups, the bind mount of the
# view) and a host kernel with pre-content events (Linux 6.14+); crawl needs neither.
FROM maven:3.9-eclipse-temurin-17 AS build
# The fail-closed guard (native-shim/guard.c) is compiled into the jar by the build.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pom.xml .
RUN mvn -q -B dependency:go-offline
COPY native-shim native-shim
COPY src src
RUN mvn -q -B -DskipTests package

FROM eclipse-temurin:17-jre
COPY --from=build /src/target/lazydir.jar /opt/lazydir/lazydir.jar
COPY lazydir /opt/lazydir/lazydir
ENV LAZYDIR_JAR=/opt/lazydir/lazydir.jar LC_ALL=C.UTF-8
ENTRYPOINT ["/opt/lazydir/lazydir"]
