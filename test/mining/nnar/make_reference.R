# make_reference.R: the oracle for test/mining/nnar. Runs R's own
# forecast::nnetar (forecast 8.20, nnet) on classic series and writes the
# data (data/*.txt, one value a line) and what nnetar did (reference.txt).
# The C test reads both; R is needed only to regenerate them:
#
#   Rscript make_reference.R        (R >= 4.2, r-cran-forecast)
#
# Nets are random, so what is compared is what is comparable:
#   choice  the lags, p chosen by AIC, P and size nnetar picks by default,
#           and its scaling (centre, scale);
#   seasadj the series less mstl()'s STL seasonal component, from which
#           nnetar chooses p for a seasonal series;
#   fixed   the same weights on both sides (nnet's order): nnetar's one-net
#           model with its weights replaced, forecast h steps; the
#           network's output, the scaling and the iteration must agree to
#           rounding;
#   avg     nnetar's default forecast (20 nets) of a strongly structured
#           series, to be matched within a tolerance.
suppressMessages(library(forecast))
options(digits = 17)
out <- file("reference.txt", "w")
w <- function(...) cat(..., "\n", file = out, sep = " ")
f17 <- function(v) formatC(v, digits = 17, format = "g")
write_data <- function(name, x) writeLines(f17(as.numeric(x)), file.path("data", paste0(name, ".txt")))

set.seed(20261202)
# a strongly structured monthly series: a yearly wave and a little noise
wave <- ts(50 + 10 * sin(2 * pi * (1:144) / 12) + 4 * cos(2 * pi * (1:144) / 6) +
           rnorm(144, sd = 0.5), frequency = 12)
# a planted nonlinear autoregression: a noisy logistic map
lmap <- numeric(300); lmap[1] <- 0.3
for (i in 2:300) lmap[i] <- min(max(3.6 * lmap[i - 1] * (1 - lmap[i - 1]) + rnorm(1, sd = 0.01), 0.01), 0.99)

datasets <- list(lynx = lynx, lh = lh, WWWusage = WWWusage, LakeHuron = LakeHuron,
                 USAccDeaths = USAccDeaths, nottem = nottem, wave = wave, lmap = ts(lmap))
for (nm in names(datasets)) write_data(nm, datasets[[nm]])

# nnetar's default choices
for (nm in names(datasets)) {
  x <- datasets[[nm]]
  fit <- nnetar(x, repeats = 1)
  w("choice", nm, frequency(x), fit$p, fit$P, fit$size, "lags", fit$lags)
  w("scale", nm, f17(fit$scalex$center), f17(fit$scalex$scale))
}

# the seasonally adjusted series nnetar chooses p from (mstl: STL, s.window 11)
for (nm in c("USAccDeaths", "nottem", "wave")) {
  w("seasadj", nm, frequency(datasets[[nm]]), f17(as.numeric(seasadj(mstl(datasets[[nm]])))))
}

# the same weights on both sides
fixed <- function(name, p, P, size, h) {
  x <- datasets[[name]]
  fit <- nnetar(x, p = p, P = P, size = size, repeats = 1, maxit = 0)
  nw <- length(fit$model[[1]]$wts)
  wts <- sin(1.7 * seq_len(nw)) * 0.8
  fit$model[[1]]$wts <- wts
  fc <- forecast(fit, h = h)
  w("fixed", name, frequency(x), p, P, size, h, "lags", fit$lags)
  w("weights", f17(wts))
  # the net alone on one input vector
  xin <- cos(seq_along(fit$lags))
  w("net", f17(xin), "output", f17(predict(fit$model[[1]], newdata = matrix(xin, nrow = 1))))
  for (i in seq_len(h)) w("fc", i, f17(fc$mean[i]))
  w("end")
}
fixed("lynx", 3, 0, 2, 10)
fixed("USAccDeaths", 2, 1, 3, 24)
fixed("wave", 4, 2, 5, 24)
fixed("lh", 1, 0, 1, 5)

# nnetar's default forecast of structured series (20 nets averaged)
avg <- function(name, h, ...) {
  x <- datasets[[name]]
  set.seed(1)
  fit <- nnetar(x, ...)
  fc <- forecast(fit, h = h)
  w("avg", name, frequency(x), fit$p, fit$P, fit$size, h, f17(sd(x)))
  for (i in seq_len(h)) w("fc", i, f17(fc$mean[i]))
  w("end")
}
avg("wave", 24)
avg("lmap", 5, p = 1, size = 3)
close(out)
